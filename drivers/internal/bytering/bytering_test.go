package bytering

import "testing"

func TestPlace(t *testing.T) {
	for _, tc := range []struct {
		size    int
		w, r    uint64
		n       int
		start   uint64
		ok      bool
		comment string
	}{
		{100, 0, 0, 60, 0, true, "empty slab"},
		{100, 60, 0, 40, 60, true, "fills to the end exactly"},
		{100, 60, 0, 41, 100, false, "would wrap: moved to the start, which is in use"},
		{100, 60, 50, 41, 100, true, "would wrap: the start is free again"},
		{100, 60, 50, 51, 100, false, "the start is free, but not enough of it"},
		{100, 160, 150, 30, 160, true, "second lap"},
		{100, 0, 0, 101, 0, false, "larger than the slab"},
		{100, 0, 0, -1, 0, false, "negative"},
		{100, 100, 100, 100, 100, true, "a whole lap"},
	} {
		start, ok := Place(tc.size, tc.w, tc.r, tc.n)
		if ok != tc.ok || ok && start != tc.start {
			t.Errorf("%s: Place(%d, %d, %d, %d) = %d, %v; want %d, %v", tc.comment, tc.size, tc.w, tc.r, tc.n, start, ok, tc.start, tc.ok)
		}
	}
}

// TestPlaceFIFO runs a writer and an in-order reader over a small slab and
// checks that no live frame is ever overwritten.
func TestPlaceFIFO(t *testing.T) {
	const size = 1000
	owner := make([]int, size) // frame id owning each byte, 0 = free
	var w, r uint64
	type rec struct {
		id         int
		start, end uint64
	}
	var q []rec
	for id := 1; id < 5000; id++ {
		n := 1 + (id*7919)%300
		start, ok := Place(size, w, r, n)
		for !ok {
			f := q[0]
			q = q[1:]
			for p := f.start; p < f.end; p++ {
				if owner[p%size] == f.id {
					owner[p%size] = 0
				}
			}
			r = f.end
			start, ok = Place(size, w, r, n)
		}
		for p := start; p < start+uint64(n); p++ {
			if o := owner[p%size]; o != 0 {
				t.Fatalf("frame %d overwrites live frame %d at %d", id, o, p%size)
			}
			owner[p%size] = id
		}
		if int(start%size)+n > size {
			t.Fatalf("frame %d wraps", id)
		}
		w = start + uint64(n)
		q = append(q, rec{id, start, w})
	}
}
