// virtio-mmio slot discovery.

//go:build tamago && arm

package qemuvirt

import (
	"errors"
	"strconv"

	"github.com/mirago/mirago/drivers/virtio"
)

// virtio-mmio transports on QEMU virt (hw/arm/virt.c: VIRT_MMIO, 32
// transports of 0x200 bytes, interrupts SPI 16+n = GIC ID 48+n).
const (
	virtioBase    = 0x0a000000
	virtioStride  = 0x200
	virtioSlots   = 32
	virtioIRQBase = 32 + 16
)

type slot struct {
	n   int
	irq int
	t   *virtio.Transport
}

var (
	slots      []slot
	legacySeen bool
)

// scanVirtio probes every virtio-mmio slot and records the devices found.
func scanVirtio() {
	for n := range virtioSlots {
		t, err := virtio.Probe(virtio.MMIO(virtioBase + virtioStride*uintptr(n)))
		switch {
		case errors.Is(err, virtio.ErrLegacy):
			legacySeen = true
		case err == nil:
			slots = append(slots, slot{n: n, irq: virtioIRQBase + n, t: t})
		}
	}
	if legacySeen && len(slots) == 0 {
		print("qemu-virt: virtio-mmio transports are legacy (version 1); add -global virtio-mmio.force-legacy=false\n")
	}
}

func findSlot(id uint32) (slot, bool) {
	for _, s := range slots {
		if s.t.DeviceID == id {
			return s, true
		}
	}
	return slot{}, false
}

// Devices describes the virtio devices found at boot, one per line.
func Devices() []string {
	var d []string
	for _, s := range slots {
		// "virtio-mmio slot %d (%#x, irq %d): device id %d"; boot tests
		// match the line.
		d = append(d, "virtio-mmio slot "+strconv.Itoa(s.n)+
			" (0x"+strconv.FormatUint(uint64(virtioBase+virtioStride*s.n), 16)+
			", irq "+strconv.Itoa(s.irq)+"): device id "+strconv.FormatUint(uint64(s.t.DeviceID), 10))
	}
	return d
}
