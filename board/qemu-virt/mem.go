// Runtime memory layout hooks and the DMA region.

//go:build tamago && arm

package qemuvirt

import (
	"errors"
	_ "unsafe"

	"github.com/mirago/mirago/drivers/virtio"
)

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

// dmaArena hands out the DMA region to the virtio drivers (rings and
// buffers, allocated once at device bring-up). hwinit1 creates it, before
// any device is brought up; dmaErr says why when it could not.
var (
	dmaArena *virtio.Arena
	dmaErr   error
)

func initDMA() {
	dmaArena, dmaErr = virtio.NewArena(DMAStart, DMASize)
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

//go:linkname ramStart runtime/goos.RamStart
var ramStart uint = RamStart

//go:linkname ramSize runtime/goos.RamSize
var ramSize uint = RamSize

//go:linkname ramStackOffset runtime/goos.RamStackOffset
var ramStackOffset uint = 0x100
