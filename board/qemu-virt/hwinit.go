// Early hardware initialisation: the runtime Hwinit1 hook.

//go:build tamago && arm

package qemuvirt

import (
	"runtime/goos"
	_ "unsafe"

	"github.com/usbarmory/tamago/arm"
)

// Short-descriptor section attributes for the DMA region: Normal memory,
// inner and outer non-cacheable (TEX=001, C=0, B=0; ARM ARM v7-A
// B3.8.2, Table B3-10), so DMA needs no cache maintenance.
const dmaSection = arm.TTE_AP_001<<10 | 1<<12 | arm.TTE_SECTION | arm.TTE_EXECUTE_NEVER

// hwinit1 runs early in runtime set-up, after the heap exists and before
// package initialisation: MMU, caches, timer, DMA arena and entropy.
//
//go:linkname hwinit1 runtime/goos.Hwinit1
func hwinit1() {
	mark("runtime")
	ARM.Init(RamStart)
	// Runtime exits (main returning, a fatal panic) end QEMU with their
	// status through semihosting, or halt without it (see Exit).
	goos.Exit = func(code int32) { Exit(int(code)) }
	ARM.InitMMU()
	ARM.ConfigureMMU(uint32(layout.DMAStart), uint32(layout.DMAStart+layout.DMASize), 0, dmaSection)
	ARM.EnableCache()
	// Secure PL1 may program CNTFRQ; QEMU's counter runs at 62.5 MHz.
	ARM.InitGenericTimers(0, timerFreq)
	mark("mmu")

	initDMA()
	mark("dma")
	scanVirtio()
	mark("virtio scan")
	seedEntropy()
	mark("entropy")
}
