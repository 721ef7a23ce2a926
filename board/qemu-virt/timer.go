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

//go:linkname nanotime runtime/goos.Nanotime
func nanotime() int64 {
	return ARM.GetTime()
}
