// Runtime memory layout hooks and the DMA region.

//go:build tamago && arm

package qemuvirt

import _ "unsafe"

// Memory layout. QEMU virt places RAM at 0x40000000; the image is linked at
// 0x40010000 (the first 64 kB hold tamago's vector table, page tables and
// exception stacks, see arm.CPU.Init). The Go runtime owns RamSize bytes;
// the last DMASize bytes of a 512 MB machine are kept for device DMA,
// outside the Go heap and mapped uncached.
const (
	RamStart = 0x40000000
	RamSize  = 0x1f000000 // 496 MB
	DMAStart = RamStart + RamSize
	DMASize  = 0x01000000 // 16 MB: needs -m 512M or more
)

//go:linkname ramStart runtime/goos.RamStart
var ramStart uint = RamStart

//go:linkname ramSize runtime/goos.RamSize
var ramSize uint = RamSize

//go:linkname ramStackOffset runtime/goos.RamStackOffset
var ramStackOffset uint = 0x100
