// Regs over physical MMIO (bare metal).

package virtio

import (
	"sync/atomic"
	"unsafe"
)

// MMIO is a virtio-mmio register window at a physical address, for bare
// metal with a flat (identity) mapping of device memory. It implements
// Regs. Accesses are 32-bit atomics: never merged, split or reordered.
type MMIO uintptr

func (m MMIO) reg(off uint32) *uint32 {
	return (*uint32)(unsafe.Add(nil, uintptr(m)+uintptr(off)))
}

// Read32 implements Regs.
func (m MMIO) Read32(off uint32) uint32 { return atomic.LoadUint32(m.reg(off)) }

// Write32 implements Regs.
func (m MMIO) Write32(off, v uint32) { atomic.StoreUint32(m.reg(off), v) }
