// The CPU instance and the runtime Nanotime hook (ARM generic timer).

//go:build tamago && arm

package qemuvirt

import (
	_ "unsafe"

	"github.com/usbarmory/tamago/arm"
)

// ARM is the Cortex-A15 core.
var ARM = &arm.CPU{
	// required before Init()
	TimerOffset: 1,
}

// CNTFRQ of QEMU's ARM generic timer (target/arm: GTIMER_SCALE 16 ns).
const timerFreq = 62500000

// nanotime is ARM.GetTime in integer arithmetic: at 62.5 MHz a count is
// exactly 16 ns, and GetTime's float64 multiply costs two runtime
// conversions on 32-bit ARM (uint64 to float64 and back) on every clock
// read, and the scheduler and the stack read the clock for every
// segment. It adds the slew in progress (clock.go); the idle governor
// converts its deadline back to a count with alarmCount. What remains is the counter read itself, which under TCG is a
// call into QEMU's clock (the board profiler, PROF=1, charges it several
// per cent of the guest's CPU under echo traffic).
//
//go:linkname nanotime runtime/goos.Nanotime
func nanotime() int64 {
	c := int64(ARM.Counter())
	ns := c*(1e9/timerFreq) + ARM.TimerOffset
	if slew.sign != 0 {
		ns += slew.extra(c)
	}
	return ns
}
