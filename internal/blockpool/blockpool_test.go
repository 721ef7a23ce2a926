package blockpool

import (
	"bytes"
	"sync"
	"testing"
)

func TestClasses(t *testing.T) {
	p := New(4<<10, 48<<10)
	var sizes []int
	for i := range p.Classes() {
		sizes = append(sizes, p.Size(i))
	}
	want := []int{4 << 10, 8 << 10, 16 << 10, 32 << 10, 48 << 10}
	if len(sizes) != len(want) {
		t.Fatalf("sizes %v, want %v", sizes, want)
	}
	for i := range want {
		if sizes[i] != want[i] {
			t.Fatalf("sizes %v, want %v", sizes, want)
		}
	}
	for _, tc := range []struct{ need, cls int }{{0, 0}, {1, 0}, {4 << 10, 0}, {4<<10 + 1, 1}, {40 << 10, 4}, {1 << 20, 4}} {
		if got := p.ClassFor(tc.need); got != tc.cls {
			t.Errorf("ClassFor(%d) = %d, want %d", tc.need, got, tc.cls)
		}
	}
}

func TestSpareAccounting(t *testing.T) {
	p := New(2<<10, 8<<10)
	a, b := p.Get(1), p.Get(1)
	if len(a.B) != 4<<10 || p.Spare() != 0 {
		t.Fatalf("block %d bytes, spare %d", len(a.B), p.Spare())
	}
	p.Put(a) // becomes the spare
	p.Put(b) // goes to the sync.Pool
	if p.Spare() != 4<<10 {
		t.Fatalf("spare %d, want 4096", p.Spare())
	}
	if got := p.Get(1); got != a || p.Spare() != 0 {
		t.Fatalf("Get did not return the spare first (spare now %d)", p.Spare())
	}
}

// Taking the spare back and returning it does not allocate.
func TestNoAllocs(t *testing.T) {
	p := New(4<<10, 64<<10)
	p.Put(p.Get(2))
	if n := testing.AllocsPerRun(100, func() { p.Put(p.Get(2)) }); n != 0 {
		t.Fatalf("%v allocations per Get/Put", n)
	}
}

func TestGrowRing(t *testing.T) {
	old := []byte("fghij___abcde") // 10 bytes from head 8, wrapping
	nb := make([]byte, 16)
	GrowRing(nb, old, 8, 10)
	if !bytes.Equal(nb[:10], []byte("abcdefghij")) {
		t.Fatalf("got %q", nb[:10])
	}
	nb = make([]byte, 8)
	GrowRing(nb, []byte("xxabcdexx"), 2, 5) // no wrap
	if !bytes.Equal(nb[:5], []byte("abcde")) {
		t.Fatalf("got %q", nb[:5])
	}
}

// Shared hands out power-of-two blocks from Min to Max, is safe for
// concurrent use, and recycles what is put back.
func TestShared(t *testing.T) {
	s := &Shared{Min: 4 << 10, Max: 1 << 20}
	for need, want := range map[int]int{0: 4 << 10, 1: 4 << 10, 4097: 8 << 10, 32 << 10: 32 << 10, 2 << 20: 1 << 20} {
		b := s.Get(need)
		if len(b.B) != want {
			t.Errorf("Get(%d): %d bytes, want %d", need, len(b.B), want)
		}
		s.Put(b)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				b := s.Get(i * 1000)
				b.B[0] = 1
				s.Put(b)
			}
		}()
	}
	wg.Wait()
}
