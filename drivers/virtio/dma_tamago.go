// Memory over a tamago dma.Region (bare metal).

//go:build tamago

package virtio

import (
	"errors"

	"github.com/usbarmory/tamago/dma"
)

// DMA is Memory from a tamago dma.Region. With a flat mapping, the bus
// address is the physical address. The region should lie outside the Go
// heap and be mapped uncached (the qemu-virt board does both), so the
// device and the CPU agree on its contents without cache maintenance.
type DMA struct {
	Region *dma.Region
}

// Alloc implements Memory.
func (d DMA) Alloc(size, align int) ([]byte, uint64, error) {
	if d.Region == nil {
		return nil, 0, errors.New("virtio: no DMA region")
	}
	if size <= 0 || align < 0 {
		return nil, 0, errors.New("virtio: bad DMA allocation size")
	}
	// Region.Reserve panics when the region is exhausted: check first
	// (allocation happens at device bring-up only).
	fits := false
	for _, free := range d.Region.FreeBlocks() {
		if free >= uint(size+align) {
			fits = true
			break
		}
	}
	if !fits {
		return nil, 0, errors.New("virtio: DMA region exhausted")
	}
	addr, buf := d.Region.Reserve(size, align)
	clear(buf)
	return buf, uint64(addr), nil
}
