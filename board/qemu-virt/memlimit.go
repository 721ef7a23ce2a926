// The Go runtime's memory limit, from the RAM layout.

//go:build tamago && arm

package qemuvirt

import (
	"runtime"
	_ "unsafe"
)

// setMemoryLimit is runtime/debug.SetMemoryLimit without importing
// runtime/debug, which links fmt into the image (TestImageDeps). The
// runtime pushes it to runtime/debug by linkname.
//
//go:linkname setMemoryLimit runtime/debug.setMemoryLimit
func setMemoryLimit(limit int64) int64

// g0StackSize is the boot goroutine's stack below the top of the Go
// runtime's RAM (runtime rt0_arm_tamago: a 64 KiB istack).
const g0StackSize = 64 << 10

// HeapRoom is the memory the Go heap can grow into: from the end of the
// image (its bss) to the boot stack at the top of the runtime's RAM.
func HeapRoom() uint64 {
	_, imageEnd := runtime.DataRegion()
	top := layout.DMAStart - uint64(ramStackOffset) - g0StackSize
	if uint64(imageEnd) >= top {
		return 0
	}
	return top - uint64(imageEnd)
}

// limitMemory sets the runtime's soft memory limit to 7/8 of HeapRoom:
// the runtime cannot know how much RAM there is (on tamago the heap
// grows by sbrk until it meets the boot stack, and then the runtime dies
// "out of memory"), so without a limit a GC cycle paced by GOGC alone
// could start too late in a small machine. Near the limit the collector
// runs more often instead.
func limitMemory() int64 {
	limit := int64(HeapRoom() / 8 * 7)
	setMemoryLimit(limit)
	return limit
}
