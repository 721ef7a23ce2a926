//go:build tamago && arm

package usbarmory

// The interrupt service goroutine and the idle governor.

import (
	"math"
	"runtime/goos"
	"sync/atomic"

	"github.com/usbarmory/tamago/arm"
	"github.com/usbarmory/tamago/soc/nxp/imx6ul"
)

const (
	// numIRQ covers the 32 private and 128 shared peripheral interrupts
	// of the i.MX6UL GIC (3.2 Cortex A7 interrupts, IMX6ULLRM).
	numIRQ = 160
	// maxIRQLoop bounds one pass of the dispatcher, so a source that
	// stays asserted cannot starve every goroutine.
	maxIRQLoop = 64
	// idleMaxSleep caps one idle wait. An interrupt taken between the
	// scheduler's last look and WFI wakes its goroutine but not the CPU;
	// the cap bounds how long that goroutine can wait.
	idleMaxSleep = 2_000_000 // ns
)

// spurious is the GICC_IAR value when nothing is pending (ARM IHI 0048B.b,
// 3.2.5 Special interrupt numbers).
const spurious = 1020

var handlers [numIRQ]atomic.Pointer[func()]

// handleInterrupt routes GIC interrupt id to fn and enables it. fn runs on
// the interrupt goroutine with IRQs masked: it must be short and must not
// block.
func handleInterrupt(id int, fn func()) {
	if id < 0 || id >= numIRQ {
		return
	}
	handlers[id].Store(&fn)
	imx6ul.GIC.EnableInterrupt(id, true)
}

// startInterrupts sets up the GIC (all interrupts secure, group 0, as IRQ),
// the timer wakeup for the idle governor, and the goroutine that services
// interrupts through arm.ServiceInterrupts.
func startInterrupts() {
	imx6ul.GIC.Init(true, false)
	imx6ul.GIC.EnableInterrupt(arm.TIMER_IRQ, true)
	goos.Idle = idle
	go arm.ServiceInterrupts(dispatch)
}

// dispatch acknowledges and services every pending interrupt.
func dispatch() {
	for range maxIRQLoop {
		id := imx6ul.GIC.GetInterrupt(true)
		var h *func()
		if id < numIRQ {
			h = handlers[id].Load()
		}
		switch {
		case id >= spurious:
			return
		case id == arm.TIMER_IRQ:
			imx6ul.ARM.SetAlarm(0) // the idle alarm did its job: wake up
		case h != nil:
			(*h)()
		default:
			imx6ul.GIC.DisableInterrupt(id)
			print("usbarmory: disabled unexpected IRQ ", id, "\n")
		}
	}
}

// idle is the runtime's idle hook: sleep in WFI until the next timer is
// due (at most idleMaxSleep) or an interrupt arrives. It runs on g0 and must
// not allocate.
func idle(until int64) {
	if until == 0 {
		return
	}
	now := imx6ul.ARM.GetTime()
	if until == math.MaxInt64 || until-now > idleMaxSleep {
		until = now + idleMaxSleep
	}
	// SetAlarm takes a count times the multiplier truncated to an
	// integer (tamago's arm.SetAlarm divides by uint64(TimerMultiplier)):
	// convert the deadline with GetTime's offset and the multiplier in
	// force, which a slew scales (clock.go).
	cpu := imx6ul.ARM
	cnt := int64(float64(until-cpu.TimerOffset) / cpu.TimerMultiplier)
	cpu.SetAlarm(max(cnt, 1) * int64(uint64(cpu.TimerMultiplier)))
	// Masked, an interrupt that fires before WFI stays pending and WFI
	// returns at once (it wakes on a pending IRQ even when masked);
	// unmasking then takes it.
	imx6ul.ARM.DisableInterrupts(false)
	imx6ul.ARM.WaitInterrupt()
	imx6ul.ARM.EnableInterrupts(false)
}
