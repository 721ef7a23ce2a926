package qemuvirt

import (
	"testing"
	"time"
)

// The slewed clock (count*16 ns + offset + extra) never runs backwards,
// moves at 500 ppm while slewing, stops at the amount, and a new slew
// continues from where the old one left the clock.
func TestSlewState(t *testing.T) {
	var s slewState
	var offset int64
	clock := func(c int64) int64 { return c*16 + offset + s.extra(c) }
	const perSec = 62_500_000 // counts in a second
	c := int64(1_000_000)
	offset += s.start(c, 10*time.Millisecond) // 20 s of slew
	prev := clock(c)
	for i := 1; i <= 30; i++ {
		c += perSec
		now := clock(c)
		want := int64(time.Second) + 500_000
		if i > 20 {
			want = int64(time.Second)
		}
		if now-prev != want {
			t.Fatalf("second %d: the clock moved %d ns, want %d", i, now-prev, want)
		}
		prev = now
	}
	if s.pending(c) != 0 {
		t.Fatalf("pending %v after the slew", s.pending(c))
	}
	// A negative slew, replaced half way by a positive one.
	offset += s.start(c, -4*time.Millisecond) // 8 s
	c += 4 * perSec
	if got := s.pending(c); got != -2*time.Millisecond {
		t.Fatalf("pending %v half way", got)
	}
	before := clock(c)
	offset += s.start(c, time.Millisecond)
	if after := clock(c); after != before {
		t.Fatalf("starting a slew moved the clock by %d ns", after-before)
	}
	// Monotonic count by count around the switch.
	for i := int64(0); i < 1000; i++ {
		if clock(c+i+1) <= clock(c+i) {
			t.Fatalf("the clock stood still or went back at count %d", c+i)
		}
	}
	offset += s.start(c, 0)
	if s.extra(c+perSec) != 0 {
		t.Fatal("a zero slew applies something")
	}
}
