// Package virtiomodel plays the device side of a virtio-mmio transport and
// its split virtqueues over ordinary memory, so that the driver in
// drivers/virtio can be tested on the host. It models what the driver
// relies on (virtio 1.1 §2.7, §4.2.2, §5.1, §5.4) and lets tests inject
// faults: refused FEATURES_OK, malformed used-ring entries, link changes.
package virtiomodel

import (
	"fmt"
	"unsafe"
)

// Mem is a DMA arena with fake bus addresses. It implements virtio.Memory.
type Mem struct {
	// Base is the bus address of the arena's first byte.
	Base uint64
	buf  []byte
	next int
}

// NewMem returns an arena of size bytes at bus address 0x4000_0000.
func NewMem(size int) *Mem {
	raw := make([]byte, size+4096)
	off := int(-uintptr(unsafe.Pointer(&raw[0])) & 4095) // page-align the arena
	return &Mem{Base: 0x4000_0000, buf: raw[off : off+size : off+size]}
}

// Alloc implements virtio.Memory.
func (m *Mem) Alloc(size, align int) ([]byte, uint64, error) {
	if align <= 0 {
		align = 1
	}
	start := (m.next + align - 1) &^ (align - 1)
	if size < 0 || start+size > len(m.buf) {
		return nil, 0, fmt.Errorf("virtiomodel: arena exhausted (%d bytes asked, %d free)", size, len(m.buf)-start)
	}
	m.next = start + size
	b := m.buf[start : start+size : start+size]
	clear(b)
	return b, m.Base + uint64(start), nil
}

// Slice returns the n bytes at bus address addr, or an error if they are
// not all inside the arena (a driver bug the model reports).
func (m *Mem) Slice(addr uint64, n uint32) ([]byte, error) {
	if addr < m.Base || addr-m.Base > uint64(len(m.buf)) || uint64(n) > uint64(len(m.buf))-(addr-m.Base) {
		return nil, fmt.Errorf("virtiomodel: bus range %#x+%d outside the arena", addr, n)
	}
	o := int(addr - m.Base)
	return m.buf[o : o+int(n) : o+int(n)], nil
}
