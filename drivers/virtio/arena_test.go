// Arena bookkeeping: alignment, exhaustion, overflow, concurrency.

package virtio

import (
	"errors"
	"sync"
	"testing"
)

func TestPlace(t *testing.T) {
	const top = maxAddr // last addressable byte
	tests := []struct {
		name        string
		next, free  uint64
		size, align int
		addr, used  uint64
		err         error
	}{
		{"unaligned", 0x1001, 100, 10, 0, 0x1001, 10, nil},
		{"align 1", 0x1001, 100, 10, 1, 0x1001, 10, nil},
		{"already aligned", 0x1000, 100, 10, 16, 0x1000, 10, nil},
		{"padded", 0x1001, 100, 10, 16, 0x1010, 25, nil},
		{"padded to page", 0x1001, 0x2000, 1, 4096, 0x2000, 0x1000, nil},
		{"exactly fills", 0x1000, 64, 64, 64, 0x1000, 64, nil},
		{"exactly fills after padding", 0x1001, 31, 16, 16, 0x1010, 31, nil},
		{"one byte over", 0x1000, 64, 65, 1, 0, 0, ErrArenaExhausted},
		{"padding exhausts", 0x1001, 15, 1, 16, 0, 0, ErrArenaExhausted},
		{"padding fits, size does not", 0x1001, 20, 6, 16, 0, 0, ErrArenaExhausted},
		{"empty", 0x2000, 0, 1, 0, 0, 0, ErrArenaExhausted},
		{"zero size", 0x1000, 64, 0, 16, 0, 0, ErrAllocSize},
		{"negative size", 0x1000, 64, -1, 16, 0, 0, ErrAllocSize},
		{"align 3", 0x1000, 64, 8, 3, 0, 0, ErrAllocAlign},
		{"align 24", 0x1000, 64, 8, 24, 0, 0, ErrAllocAlign},
		{"negative align", 0x1000, 64, 8, -16, 0, 0, ErrAllocAlign},
		{"min int align", 0x1000, 64, 8, -1 << (intBits - 1), 0, 0, ErrAllocAlign},
		{"huge size", 0x1000, 64, maxInt, 1, 0, 0, ErrArenaExhausted},
		{"huge align", 0x1000, 64, 1, 1 << (intBits - 2), 0, 0, ErrArenaExhausted},
		// A region ending at the top of the address space.
		{"last byte", top, 1, 1, 1, top, 1, nil},
		{"top exactly fills", top - 15, 16, 16, 16, top - 15, 16, nil},
		{"top padding wraps", top - 14, 15, 1, 16, 0, 0, ErrArenaExhausted},
		{"top size wraps", top - 15, 16, 17, 1, 0, 0, ErrArenaExhausted},
		{"top huge size", top - 15, 16, maxInt, 16, 0, 0, ErrArenaExhausted},
	}
	for _, tt := range tests {
		addr, used, err := place(tt.next, tt.free, tt.size, tt.align)
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("%s: place(%#x, %d, %d, %d) error %v, want %v", tt.name, tt.next, tt.free, tt.size, tt.align, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if addr != tt.addr || used != tt.used {
			t.Errorf("%s: place(%#x, %d, %d, %d) = %#x, %d; want %#x, %d", tt.name, tt.next, tt.free, tt.size, tt.align, addr, used, tt.addr, tt.used)
		}
		if used > tt.free || addr < tt.next || addr-tt.next+uint64(tt.size) != used {
			t.Errorf("%s: block %#x+%d outside %#x+%d", tt.name, addr, tt.size, tt.next, tt.free)
		}
		if a := uint64(max(tt.align, 1)); addr%a != 0 {
			t.Errorf("%s: address %#x not aligned to %d", tt.name, addr, a)
		}
	}
}

const (
	intBits = 32 << (^uint(0) >> 63)
	maxInt  = int(^uint(0) >> 1)
)

func TestNewArena(t *testing.T) {
	tests := []struct {
		name        string
		start, size uint64
		ok          bool
	}{
		{"qemu-virt", 0x5f000000, 0x01000000, true},
		{"one byte", 0x1000, 1, true},
		{"ends at top", maxAddr - 0xfff, 0x1000, true},
		{"one past top", maxAddr - 0xffe, 0x1000, false},
		{"wraps", maxAddr - 0xfff, ^uint64(0), false},
		{"at address 0", 0, 0x1000, false},
		{"empty", 0x1000, 0, false},
	}
	if top := uint64(maxAddr); top < ^uint64(0) { // 32-bit pointers
		tests = append(tests, struct {
			name        string
			start, size uint64
			ok          bool
		}{"start beyond pointers", top + 1, 1, false})
	}
	for _, tt := range tests {
		a, err := NewArena(tt.start, tt.size)
		if tt.ok != (err == nil) {
			t.Errorf("%s: NewArena(%#x, %#x) error %v, want ok %v", tt.name, tt.start, tt.size, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrArenaRegion) || a != nil {
				t.Errorf("%s: NewArena = %v, %v; want nil, ErrArenaRegion", tt.name, a, err)
			}
			continue
		}
		if a.Free() != tt.size {
			t.Errorf("%s: Free() = %d, want %d", tt.name, a.Free(), tt.size)
		}
	}
}

// TestArenaSequence allocates like a device bring-up does and checks that
// blocks are aligned, inside the region and disjoint, and that the region
// runs out with an error, exactly at its end.
func TestArenaSequence(t *testing.T) {
	const start, size = 0x5f000000, 0x10000
	a, err := NewArena(start, size)
	if err != nil {
		t.Fatal(err)
	}
	type block struct{ addr, end uint64 }
	var blocks []block
	asks := []struct{ size, align int }{
		{4166, 16}, {128 * 2048, 64}, {1, 0}, {4166, 16}, {64, 64}, {3, 1}, {8, 8}, {100, 4096},
	}
	for _, ask := range asks {
		addr, err := a.reserve(ask.size, ask.align)
		if errors.Is(err, ErrArenaExhausted) {
			continue // the 256 kB pool does not fit
		}
		if err != nil {
			t.Fatalf("reserve(%d, %d): %v", ask.size, ask.align, err)
		}
		if addr%uint64(max(ask.align, 1)) != 0 {
			t.Errorf("reserve(%d, %d) = %#x: misaligned", ask.size, ask.align, addr)
		}
		b := block{addr, addr + uint64(ask.size)}
		if b.addr < start || b.end > start+size {
			t.Errorf("reserve(%d, %d) = %#x: outside the region", ask.size, ask.align, addr)
		}
		for _, o := range blocks {
			if b.addr < o.end && o.addr < b.end {
				t.Errorf("block %#x-%#x overlaps %#x-%#x", b.addr, b.end, o.addr, o.end)
			}
		}
		blocks = append(blocks, b)
	}
	if len(blocks) != len(asks)-1 {
		t.Fatalf("%d allocations succeeded, want %d", len(blocks), len(asks)-1)
	}
	// Fill the rest exactly, then nothing more fits.
	free := a.Free()
	last := blocks[len(blocks)-1].end
	if free != start+size-last {
		t.Fatalf("Free() = %d, want %d", free, start+size-last)
	}
	if addr, err := a.reserve(int(free), 1); err != nil || addr != last {
		t.Fatalf("reserve(rest %d) = %#x, %v; want %#x", free, addr, err, last)
	}
	if a.Free() != 0 {
		t.Fatalf("Free() = %d after filling, want 0", a.Free())
	}
	_, err = a.reserve(1, 1)
	if !errors.Is(err, ErrArenaExhausted) {
		t.Fatalf("reserve on a full arena: %v, want ErrArenaExhausted", err)
	}
	if want := "virtio: DMA arena exhausted (1 bytes asked, align 1, 0 free)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	// A failed reservation takes nothing.
	b, _ := NewArena(0x1001, 32)
	if _, err := b.reserve(32, 16); !errors.Is(err, ErrArenaExhausted) {
		t.Fatalf("reserve(32, 16) of 0x1001+32: %v, want exhausted", err)
	}
	if _, err := b.reserve(0, 16); !errors.Is(err, ErrAllocSize) {
		t.Fatalf("reserve(0, 16): %v, want ErrAllocSize", err)
	}
	if addr, err := b.reserve(32, 0); err != nil || addr != 0x1001 || b.Free() != 0 {
		t.Fatalf("reserve(32, 0) after failures = %#x, %v, free %d", addr, err, b.Free())
	}
}

// TestArenaConcurrent reserves from many goroutines (run with -race) and
// checks that no two blocks overlap and that the arena accounts for every
// byte.
func TestArenaConcurrent(t *testing.T) {
	const start, size, workers, each = 0x40000000, 1 << 20, 8, 100
	a, err := NewArena(start, size)
	if err != nil {
		t.Fatal(err)
	}
	addrs := make([][]uint64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				addr, err := a.reserve(100, 64)
				if err != nil {
					t.Error(err)
					return
				}
				addrs[w] = append(addrs[w], addr)
			}
		}()
	}
	wg.Wait()
	seen := map[uint64]bool{}
	var hi uint64
	for _, as := range addrs {
		for _, addr := range as {
			if addr%64 != 0 || seen[addr] {
				t.Fatalf("address %#x misaligned or handed out twice", addr)
			}
			seen[addr] = true
			hi = max(hi, addr)
		}
	}
	// 100 bytes at 64-alignment take 128 each: blocks are distinct 128-byte
	// slots, so distinct aligned addresses cannot overlap.
	if len(seen) != workers*each || hi != start+128*(workers*each-1) {
		t.Fatalf("%d blocks up to %#x", len(seen), hi)
	}
	if a.Free() != size-(128*(workers*each-1)+100) {
		t.Fatalf("Free() = %d", a.Free())
	}
}
