// Arena: Memory from a fixed physical region, handed out by a bump
// allocator. The address arithmetic is here and builds on the host; turning
// an address into a []byte is bare-metal only (arena_tamago.go).

package virtio

import (
	"errors"
	"strconv"
	"sync"
)

// Errors from Arena.
var (
	ErrArenaExhausted = errors.New("virtio: DMA arena exhausted")
	ErrArenaRegion    = errors.New("virtio: bad DMA arena region")
	ErrAllocSize      = errors.New("virtio: bad DMA allocation size")
	ErrAllocAlign     = errors.New("virtio: DMA alignment is not a power of two")
)

// Arena is Memory from a fixed region of physical memory [start,
// start+size), with a flat mapping: the bus address of a byte is its
// physical address. Every virtio allocation is made once, at device
// bring-up, and lives for the life of the driver, so the arena only ever
// bumps a pointer; nothing is freed.
//
// The region must lie outside the Go heap and, on hardware without
// coherent DMA, be mapped uncached (the qemu-virt board does both). An
// Arena is safe for concurrent use. On bare metal (GOOS=tamago) it
// implements Memory; on the host only its bookkeeping builds, for tests.
type Arena struct {
	mu   sync.Mutex
	next uint64 // first unallocated address
	free uint64 // bytes from next to the end of the region
}

// maxAddr is the highest address a pointer can hold.
const maxAddr = uint64(^uintptr(0))

// NewArena returns an arena over [start, start+size). The region must not
// start at address 0 and must fit below the top of the address space.
func NewArena(start, size uint64) (*Arena, error) {
	if start == 0 || size == 0 || start > maxAddr || size-1 > maxAddr-start {
		return nil, &detailError{ErrArenaRegion, " (start 0x" + strconv.FormatUint(start, 16) + ", size 0x" + strconv.FormatUint(size, 16) + ")"}
	}
	return &Arena{next: start, free: size}, nil
}

// reserve takes size bytes aligned to align from the arena and returns
// their address. It is the arena's Alloc without the memory access.
func (a *Arena) reserve(size, align int) (uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	addr, used, err := place(a.next, a.free, size, align)
	if err != nil {
		return 0, err
	}
	a.next += used
	a.free -= used
	return addr, nil
}

// Free returns how many bytes are left after the last allocation (an
// allocation may also need up to align-1 bytes of padding).
func (a *Arena) Free() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.free
}

// place fits a block of size bytes, aligned to align, at or after next in
// free bytes of space that end at most at the top of the address space
// (next+free <= 2^64). It returns the block's address and how many bytes it
// consumes, alignment padding included. align must be a power of two; 0 and
// 1 mean no alignment.
func place(next, free uint64, size, align int) (addr, used uint64, err error) {
	if size <= 0 {
		return 0, 0, &detailError{ErrAllocSize, " (" + strconv.Itoa(size) + ")"}
	}
	if align == 0 {
		align = 1
	}
	if align < 0 || align&(align-1) != 0 {
		return 0, 0, &detailError{ErrAllocAlign, " (" + strconv.Itoa(align) + ")"}
	}
	pad := -next & uint64(align-1) // bytes up to the next multiple of align
	if pad > free || uint64(size) > free-pad {
		return 0, 0, &detailError{ErrArenaExhausted, " (" + strconv.Itoa(size) + " bytes asked, align " +
			strconv.Itoa(align) + ", " + strconv.FormatUint(free, 10) + " free)"}
	}
	// pad+size <= free, and next+free <= 2^64: no overflow.
	return next + pad, pad + uint64(size), nil
}
