package sntp

import (
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
)

var vstart = time.Unix(0, 0).Add(42 * time.Second) // a board's clock: 1970 plus uptime

// A step moves the clock at once; a slew moves it at exactly 500 ppm,
// never backwards, and stops at its amount.
func TestClockStepThenSlew(t *testing.T) {
	vc := clock.NewVirtual(vstart)
	c := NewClock(vc)
	if !c.Now().Equal(vstart) || c.Stepped() {
		t.Fatalf("fresh clock: %v stepped %v", c.Now(), c.Stepped())
	}
	real := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	c.Step(real.Sub(c.Now()))
	if !c.Now().Equal(real) || !c.Stepped() {
		t.Fatalf("after step: %v", c.Now())
	}
	vc.Advance(time.Second)
	if !c.Now().Equal(real.Add(time.Second)) {
		t.Fatalf("a second later: %v", c.Now())
	}
	// Slew +100 ms: 200 s at 500 ppm.
	c.Slew(100 * time.Millisecond)
	base := c.Now()
	prev := base
	for i := 1; i <= 250; i++ {
		vc.Advance(time.Second)
		now := c.Now()
		gained := now.Sub(prev) - time.Second
		want := 500 * time.Microsecond
		if i > 200 {
			want = 0
		}
		if gained != want {
			t.Fatalf("second %d: clock gained %v, want %v", i, gained, want)
		}
		prev = now
	}
	if got := c.Now().Sub(base); got != 250*time.Second+100*time.Millisecond {
		t.Fatalf("after the slew: moved %v", got)
	}
	// A negative slew slows the clock by 500 ppm; it still moves forward.
	c.Slew(-10 * time.Millisecond)
	prev = c.Now()
	vc.Advance(10 * time.Second)
	if got := c.Now().Sub(prev); got != 10*time.Second-5*time.Millisecond {
		t.Fatalf("10 s into a -10 ms slew: moved %v", got)
	}
	off, pending := c.Offset()
	if pending != -5*time.Millisecond {
		t.Fatalf("pending %v, want -5ms (offset %v)", pending, off)
	}
	// A new slew replaces what is left of the old one.
	c.Slew(2 * time.Millisecond)
	vc.Advance(time.Hour)
	off2, pending := c.Offset()
	if pending != 0 || off2-off != 2*time.Millisecond {
		t.Fatalf("after the replacing slew: offset moved %v, pending %v", off2-off, pending)
	}
	// A step during a slew keeps what was applied and drops the rest.
	c.Slew(time.Second)
	vc.Advance(100 * time.Second) // 50 ms applied
	before := c.Now()
	c.Step(time.Minute)
	if got := c.Now().Sub(before); got != time.Minute {
		t.Fatalf("step moved %v", got)
	}
	if _, pending := c.Offset(); pending != 0 {
		t.Fatalf("pending after a step: %v", pending)
	}
}

// On a host the clock counts from the monotonic reading, so Now strips
// it and is the wall time plus the offset.
func TestClockRealBase(t *testing.T) {
	c := NewClock(nil)
	before := time.Now()
	now := c.Now()
	after := time.Now()
	if now.Before(before.Round(0).Add(-time.Millisecond)) || now.After(after.Round(0).Add(time.Millisecond)) {
		t.Fatalf("Now %v not between %v and %v", now, before, after)
	}
	if now != now.Round(0) {
		t.Fatal("Now carries a monotonic reading")
	}
	c.Step(time.Hour)
	if d := c.Now().Sub(time.Now()); d < time.Hour-time.Second || d > time.Hour+time.Second {
		t.Fatalf("after a 1 h step: %v ahead", d)
	}
}
