// Arena's Alloc: physical addresses as memory (bare metal).

//go:build tamago

package virtio

import "unsafe"

var _ Memory = (*Arena)(nil)

// Alloc implements Memory: size bytes of zeroed memory aligned to align
// (a power of two; 0 or 1 for none). It fails, without panicking, when
// the request is malformed or the arena has no room left.
func (a *Arena) Alloc(size, align int) ([]byte, uint64, error) {
	addr, err := a.reserve(size, align)
	if err != nil {
		return nil, 0, err
	}
	b := physBytes(uintptr(addr), size) // NewArena kept the region below maxAddr
	clear(b)
	return b, addr, nil
}

// physBytes returns the n bytes of memory at physical address addr, under
// a flat (identity) mapping.
//
// The memory is not Go memory: the board keeps the DMA region outside the
// runtime's RAM (qemu-virt: at the top of RAM, after RamSize, layout.go) and maps
// it uncached in hwinit1 (hwinit.go), so the allocator never hands it out
// and the garbage collector, which only follows pointers into heap spans,
// never treats a pointer into it as a heap pointer: the slice stays valid
// for as long as the mapping, which is forever.
//
// The address is reinterpreted as an unsafe.Pointer through memory rather
// than converted with unsafe.Pointer(uintptr(x)): the conversion rule
// (unsafe.Pointer case 3) covers pointers derived from Go objects, which
// this is not, and go vet's unsafeptr check rightly flags it.
func physBytes(addr uintptr, n int) []byte {
	p := *(*unsafe.Pointer)(unsafe.Pointer(&addr))
	return unsafe.Slice((*byte)(p), n)
}
