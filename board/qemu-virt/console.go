// PL011 console: the runtime Printk hook.

//go:build tamago && arm

package qemuvirt

import (
	"sync/atomic"
	"unsafe"
)

// PL011 UART registers (ARM PrimeCell UART (PL011) TRM DDI 0183, §3.2
// "Summary of registers"). QEMU needs no set-up to transmit.
const (
	uartBase  = 0x09000000
	uartDR    = 0x00 // data register
	uartFR    = 0x18 // flag register
	uartFRTXF = 1 << 5
)

func mmio(addr uintptr) *uint32 { return (*uint32)(unsafe.Add(nil, addr)) }

// printk writes one byte of runtime output (print, panics, the console).
// It runs before the runtime is up, so it only touches registers.
//
//go:linkname printk runtime/goos.Printk
//go:nosplit
func printk(c byte) {
	for atomic.LoadUint32(mmio(uartBase+uartFR))&uartFRTXF != 0 {
	}
	atomic.StoreUint32(mmio(uartBase+uartDR), uint32(c))
}
