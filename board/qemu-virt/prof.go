// A sampling CPU profiler for images built with PROF=1 (tag mirago_prof).

//go:build tamago && arm && mirago_prof

package qemuvirt

import (
	"strconv"
	"time"

	"github.com/usbarmory/tamago/arm"
)

// The Go runtime's CPU profiler does not run on tamago (it needs
// SIGPROF; the runtime's setProcessCPUProfiler is a stub there), so the
// board samples for itself: the generic timer's virtual timer (PPI 27,
// unused otherwise) fires profHz times a second as an FIQ, and profFIQ
// records the interrupted PC. It must be an FIQ: tamago's IRQ entry
// masks IRQs until the interrupt goroutine gets to run, so a sampling
// IRQ would mostly land where that goroutine unmasks them. For the FIQ,
// the timer alone is put in GIC Group 0, signalled as FIQ (GICC_CTLR
// FIQEn), and every other interrupt in Group 1, which the Secure world
// still acknowledges through GICC_IAR (AckCtl). A goroutine folds the
// samples into a histogram and prints it on the console every profDump;
// bench/cmd/armprof boots such an image, drives traffic through it and
// symbolises the PCs against the ELF.
//
// A sample is the PC the timer interrupted, so a function's share of the
// samples is its share of CPU time (time asleep in WFI shows as the idle
// governor).
const (
	profHz      = 1000
	profIRQ27   = 27 // the virtual timer's PPI (hw/arm/virt.c: GTIMER_VIRT -> PPI 11)
	profRingLen = 4096
	profDump    = 10 * time.Second
)

// profRing holds the PCs recorded by profFIQ; profHead counts them (the
// ring index is profHead mod profRingLen). Written only by profFIQ.
var (
	profRing [profRingLen]uint32
	profHead uint32
)

// profFIQ is the FIQ vector while profiling (prof_arm.s).
func profFIQ()

// writeCNTV writes the virtual timer's TVAL and CTL (prof_arm.s).
func writeCNTV(tval, ctl uint32)

// GIC settings for the profiler (ARM IHI 0048B.b §4.3.4 GICD_IGROUPRn,
// §4.4.1 GICC_CTLR with the Security Extensions).
const (
	giccCTLRAckCtl = 1 << 2
	giccCTLRFIQEn  = 1 << 3
)

// startProfiler moves every interrupt but the virtual timer to Group 1
// (IRQ), the timer to Group 0 (FIQ), installs profFIQ and starts the
// timer and the goroutine that prints the histogram.
func startProfiler() {
	lines := int(gicRead(gicd+gicdTYPER)&0x1f+1) * 32
	for i := 0; i < lines; i += 32 {
		gicWrite(gicd+gicdIGROUPR+uintptr(i/8), 0xffffffff)
	}
	gicWrite(gicd+gicdIGROUPR, ^uint32(1<<profIRQ27))
	gicWrite(gicc+giccCTLR, 0b11|giccCTLRAckCtl|giccCTLRFIQEn)
	t := arm.SystemVectorTable()
	t.FIQ = profFIQ
	ARM.SetVectorTable(t)
	writeCNTV(timerFreq/profHz, 1)
	gicEnable(profIRQ27)
	ARM.EnableFastInterrupts(false)
	print("qemu-virt: profiling at ", profHz, " Hz; histogram every ", profDump.String(), "\n")
	go foldSamples()
}

// foldSamples drains the ring into a histogram and prints it every
// profDump as "prof: begin SAMPLES", "prof: PC COUNT" lines (hex PC) and
// "prof: end", then starts a new one.
func foldSamples() {
	hist := map[uint32]uint32{}
	var seen, total uint32
	lost := uint32(0)
	dump := time.Now().Add(profDump)
	for {
		time.Sleep(100 * time.Millisecond)
		head := profHead
		if head-seen > profRingLen {
			lost += head - seen - profRingLen
			seen = head - profRingLen
		}
		for ; seen != head; seen++ {
			hist[profRing[seen%profRingLen]]++
			total++
		}
		if time.Now().Before(dump) {
			continue
		}
		print("prof: begin ", total, " lost ", lost, "\n")
		for pc, n := range hist {
			print("prof: ", strconv.FormatUint(uint64(pc), 16), " ", n, "\n")
		}
		print("prof: end\n")
		clear(hist)
		total, lost = 0, 0
		dump = time.Now().Add(profDump)
	}
}
