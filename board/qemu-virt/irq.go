// Interrupt servicing and the WFI idle governor; Init.

//go:build tamago && arm

package qemuvirt

import (
	"math"
	"runtime/goos"
	"strconv"
	"sync"

	"github.com/usbarmory/tamago/arm"
)

// timerIRQ is the Secure physical timer PPI (GIC ID 29) that CNTP_* drive
// when running in the Secure world (hw/arm/virt.c: GTIMER_SEC -> PPI 13).
const timerIRQ = arm.TIMER_IRQ

// handlers holds the service routine per GIC interrupt ID. Entries are set
// before the interrupt is enabled and never changed afterwards.
var handlers [32 + virtioIRQBase + virtioSlots]func()

var initOnce sync.Once

// Init brings up interrupt servicing (the GIC and one goroutine running
// arm.ServiceInterrupts) and the idle governor, which sleeps in WFI until
// the next timer deadline or device interrupt. It is idempotent; Net calls
// it.
func Init() error {
	initOnce.Do(func() {
		gicInit()
		gicEnable(timerIRQ)
		go arm.ServiceInterrupts(isr)
		goos.Idle = idle
		startProfiler()
		mark("gic")
		limit := limitMemory()
		l := Memory()
		print("qemu-virt: RAM ", l.Mem>>20, " MiB (", MemorySource(), "): Go ", l.GoSize>>20, " MiB (heap room ",
			HeapRoom()>>10, " KiB, limit ", limit>>10, " KiB), DMA ", l.DMASize>>20, " MiB at 0x", strconv.FormatUint(l.DMAStart, 16), "\n")
		print("qemu-virt: entropy from ", entropySource, "; ", earlyReads, " early random reads before seeding\n")
		for _, d := range Devices() {
			print("qemu-virt: ", d, "\n")
		}
	})
	return nil
}

// isr runs on the interrupt-servicing goroutine each time an IRQ woke it.
// Handlers must be short and must not block: device handlers acknowledge
// the device and wake their own goroutine.
func isr() {
	for {
		iar, id := gicAck()
		if id >= gicSpurious {
			return
		}
		switch {
		case id == timerIRQ:
			ARM.SetAlarm(0) // the idle alarm did its job: the CPU is awake
		case id < len(handlers) && handlers[id] != nil:
			handlers[id]()
		}
		gicEOI(iar)
	}
}

// idle is the runtime's idle hook (runtime/goos.Idle): nothing is runnable
// until pollUntil (a nanotime), so arm the timer and wait for an interrupt.
// IRQs are masked around WFI so an interrupt that fires between arming and
// WFI cannot be lost (WFI still wakes on a pending masked IRQ); unmasking
// then takes it.
func idle(pollUntil int64) {
	if pollUntil != math.MaxInt64 {
		if pollUntil <= nanotime() {
			return
		}
		// SetAlarm takes counter time (it divides by the multiplier, 16):
		// without the offset, which holds the wall time once the clock
		// has been set (clock.go), and the slew in progress.
		ARM.SetAlarm(max(alarmCount(pollUntil), 1) * (1e9 / timerFreq))
	}
	ARM.DisableInterrupts(false)
	ARM.WaitInterrupt()
	ARM.EnableInterrupts(false)
}
