// GICv2 distributor and CPU interface.

//go:build tamago && arm

package qemuvirt

import "sync/atomic"

// GICv2 on QEMU virt: the distributor and CPU interface are 64 kB apart,
// unlike the Cortex-A7/A9 private layout tamago's arm/gic package assumes
// (Base+0x1000 / Base+0x2000), so the board drives them itself.
const (
	gicd = 0x08000000
	gicc = 0x08010000

	// Distributor registers (ARM IHI 0048B.b §4.1.2, Table 4-1).
	gicdCTLR       = 0x000
	gicdTYPER      = 0x004
	gicdIGROUPR    = 0x080
	gicdISENABLER  = 0x100
	gicdICENABLER  = 0x180
	gicdICPENDR    = 0x280
	gicdIPRIORITYR = 0x400
	gicdITARGETSR  = 0x800

	// CPU interface registers (ARM IHI 0048B.b §4.1.3, Table 4-2).
	giccCTLR = 0x000
	giccPMR  = 0x004
	giccIAR  = 0x00c
	giccEOIR = 0x010

	gicSpurious = 1020 // IDs 1020-1023 are special (§3.2.5)
)

func gicRead(addr uintptr) uint32     { return atomic.LoadUint32(mmio(addr)) }
func gicWrite(addr uintptr, v uint32) { atomic.StoreUint32(mmio(addr), v) }

// gicInit resets the distributor and CPU interface: every interrupt
// disabled and Group 0 (we run in the Secure world, Group 0 is signalled
// as IRQ because FIQEn stays clear), priority 0x80, targeted at CPU 0.
func gicInit() {
	gicWrite(gicd+gicdCTLR, 0)
	lines := int(gicRead(gicd+gicdTYPER)&0x1f+1) * 32
	for i := 0; i < lines; i += 32 {
		gicWrite(gicd+gicdICENABLER+uintptr(i/8), 0xffffffff)
		gicWrite(gicd+gicdICPENDR+uintptr(i/8), 0xffffffff)
		gicWrite(gicd+gicdIGROUPR+uintptr(i/8), 0)
	}
	for i := 0; i < lines; i += 4 {
		gicWrite(gicd+gicdIPRIORITYR+uintptr(i), 0x80808080)
		if i >= 32 {
			gicWrite(gicd+gicdITARGETSR+uintptr(i), 0x01010101)
		}
	}
	gicWrite(gicc+giccPMR, 0xff)
	gicWrite(gicc+giccCTLR, 0b11) // EnableGrp0, EnableGrp1
	gicWrite(gicd+gicdCTLR, 0b11) // EnableGrp0, EnableGrp1
}

// gicEnable forwards interrupt id to the CPU.
func gicEnable(id int) {
	gicWrite(gicd+gicdISENABLER+uintptr(id/32*4), 1<<(id%32))
}

// gicAck acknowledges the highest-priority pending interrupt and returns
// the raw IAR value (pass it to gicEOI) and its interrupt ID.
func gicAck() (iar uint32, id int) {
	iar = gicRead(gicc + giccIAR)
	return iar, int(iar & 0x3ff)
}

// gicEOI signals the end of the interrupt acknowledged as iar.
func gicEOI(iar uint32) { gicWrite(gicc+giccEOIR, iar) }
