//go:build tamago && arm

package usbarmory

// Memory: what the board gives the runtime and what mirago takes of it.

import (
	"runtime"
	_ "unsafe"
)

// tamago's mk2 board gives the Go runtime the whole 512 MB DDR module
// (RamStart 0x80000000, RamSize 0x20000000, the boot stack 0x100 below
// its top) and the i.MX6UL's own init puts the default DMA region, which
// the ENET rings and buffers come from, in the 128 KiB of on-chip OCRAM
// (0x00900000), outside DDR. mirago's use of the DDR is bounded: the Go
// runtime's memory limit is 7/8 of HeapRoom, and the stack's buffers,
// queues and tables are scaled from HeapRoom by internal/boardrun.Limits,
// which at this size are the stack's own defaults (at most 64 MiB of TCP
// buffers in all, 32768 TIME_WAIT connections, 256 KiB per UDP socket and
// for reassembly). Connections themselves (about 750 bytes each, idle,
// plus the application's goroutine) are what grows with load.

// setMemoryLimit is runtime/debug.SetMemoryLimit without importing
// runtime/debug (pushed to it by the runtime by linkname).
//
//go:linkname setMemoryLimit runtime/debug.setMemoryLimit
func setMemoryLimit(limit int64) int64

// g0StackSize is the boot goroutine's stack below the top of RAM
// (runtime rt0_arm_tamago: a 64 KiB istack), ramStackOffset tamago's
// imx6ul RamStackOffset.
const (
	g0StackSize    = 64 << 10
	ramStackOffset = 0x100
)

// HeapRoom is the memory the Go heap can grow into: from the end of the
// image to the boot stack at the top of the runtime's RAM.
func HeapRoom() uint64 {
	_, end := runtime.MemRegion()
	_, imageEnd := runtime.DataRegion()
	top := uint64(end) - ramStackOffset - g0StackSize
	if uint64(imageEnd) >= top {
		return 0
	}
	return top - uint64(imageEnd)
}

// limitMemory sets the runtime's soft memory limit to 7/8 of HeapRoom:
// on tamago the heap grows until it meets the boot stack, and a GC paced
// by GOGC alone knows nothing of that wall.
func limitMemory() int64 {
	limit := int64(HeapRoom() / 8 * 7)
	setMemoryLimit(limit)
	return limit
}
