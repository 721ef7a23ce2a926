// Runtime memory hooks, sized at boot from the device tree, and the DMA
// region.

//go:build tamago && arm

package qemuvirt

import (
	"errors"
	"unsafe"

	"github.com/mirago/mirago/board/qemu-virt/internal/fdt"
	"github.com/mirago/mirago/drivers/virtio"
)

// The runtime's memory hooks. ramSize holds the fallback layout's value
// until sizeRAM, called by cpuinit before anything reads it, replaces it
// with the machine's.
//
//go:linkname ramStart runtime/goos.RamStart
var ramStart uint = RamStart

//go:linkname ramSize runtime/goos.RamSize
var ramSize uint = uint(fallbackGoSize)

//go:linkname ramStackOffset runtime/goos.RamStackOffset
var ramStackOffset uint = 0x100

// What sizeRAM found, for Init to report (set before the runtime starts,
// so plain values only: no pointers, no strings).
var (
	layout    Layout
	fdtFault  fdt.Fault // why the device tree gave no RAM size; fdt.None if it did
	fdtBase   uint64    // the /memory range's base, when it is not RamStart
	bootStack [512]uint32
)

// sizeRAM reads the RAM size from the device tree QEMU left at RamStart
// and sets the runtime's RamSize from it (layoutFor), or from MinRAM
// when there is no usable tree. cpuinit (cpuinit_arm.s) calls it first
// thing, on bootStack, with the MMU and caches off: the runtime is not
// initialised, so it must not allocate, grow its stack or panic.
//
//go:nosplit
func sizeRAM() {
	mem := uint64(MinRAM)
	r, f := fdt.Memory(physBytes(RamStart, fdtWindow))
	switch {
	case f != fdt.None:
		fdtFault = f
	case r.Base != RamStart:
		fdtBase = r.Base
	default:
		mem = r.Size
	}
	layout = layoutFor(mem)
	ramSize = uint(layout.GoSize)
}

// physBytes returns the n bytes at physical address addr (flat mapping;
// see virtio's arena for why the pointer is made this way).
//
//go:nosplit
func physBytes(addr uintptr, n int) []byte {
	p := *(*unsafe.Pointer)(unsafe.Pointer(&addr))
	return unsafe.Slice((*byte)(p), n)
}

// Memory describes the machine's RAM as the image uses it.
func Memory() Layout { return layout }

// MemorySource says where the RAM size came from: "device tree", or why
// the image fell back to MinRAM.
func MemorySource() string {
	switch {
	case fdtFault != fdt.None:
		return "fallback: " + fdtFault.Error()
	case fdtBase != 0:
		return "fallback: /memory does not start at 0x40000000"
	}
	return "device tree"
}

// dmaArena hands out the DMA region to the virtio drivers (rings and
// buffers, allocated once at device bring-up). hwinit1 creates it, before
// any device is brought up; dmaErr says why when it could not.
var (
	dmaArena *virtio.Arena
	dmaErr   error
)

func initDMA() {
	dmaArena, dmaErr = virtio.NewArena(layout.DMAStart, layout.DMASize)
	if dmaErr != nil {
		print("qemu-virt: DMA region: ", dmaErr.Error(), "\n")
	}
}

// dmaMemory returns the DMA arena, or why there is none.
func dmaMemory() (*virtio.Arena, error) {
	if dmaArena == nil {
		if dmaErr == nil {
			return nil, errNoDMA
		}
		return nil, dmaErr
	}
	return dmaArena, nil
}

var errNoDMA = errors.New("qemu-virt: DMA arena not initialised")
