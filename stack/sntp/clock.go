package sntp

import (
	"sync"
	"time"

	"github.com/mirago/mirago/stack/clock"
)

// SlewDivisor bounds the slew rate: a slew moves the clock by at most
// 1/SlewDivisor of the time that passes, 500 ppm, the rate adjtime(2)
// and ntpd use. A correction of 1 s takes 2000 s.
const SlewDivisor = 2000

// Target is the clock a Client disciplines: Now reads it, Step moves it
// at once, Slew moves it gradually (adjtime semantics: the new amount
// replaces any slew still in progress, since the client measures what is
// left of the error each time). *Clock is the software one; a board
// supplies one that steers the runtime's own clock (internal/boardrun).
type Target interface {
	Now() time.Time
	Step(d time.Duration) error
	Slew(d time.Duration) error
}

// Clock is a wall clock made of a monotonic clock (the stack's injected
// clock.Clock) and an offset that a Client disciplines: stepped once at
// the first sync, then slewed at no more than 500 ppm, so that it never
// jumps after the first sync and never runs backwards. It implements
// Target. It is safe for concurrent use.
//
// The wall time is the base clock's wall reading when the Clock was made,
// plus the base clock's elapsed time since then (the monotonic reading on
// a host, so a step of the host's own clock does not move it), plus the
// offset.
type Clock struct {
	base   clock.Clock
	origin time.Time // base.Now() at NewClock
	wall0  time.Time // origin's wall reading, without a monotonic reading

	mu      sync.Mutex
	off     time.Duration // steps and finished slews
	slewAt  time.Duration // elapsed time at which the slew in progress began
	slew    time.Duration // signed amount of the slew in progress
	stepped bool
}

// NewClock returns a Clock on base (nil: clock.Real) with no offset.
func NewClock(base clock.Clock) *Clock {
	if base == nil {
		base = clock.Real{}
	}
	o := base.Now()
	return &Clock{base: base, origin: o, wall0: o.Round(0)}
}

// elapsed is the base clock's time since NewClock.
func (c *Clock) elapsed() time.Duration { return c.base.Now().Sub(c.origin) }

// Now returns the disciplined wall time (without a monotonic reading).
func (c *Clock) Now() time.Time {
	e := c.elapsed()
	c.mu.Lock()
	o := c.offsetAt(e)
	c.mu.Unlock()
	return c.wall0.Add(e + o)
}

// offsetAt is the offset in force at elapsed time e (lock held).
func (c *Clock) offsetAt(e time.Duration) time.Duration {
	if c.slew == 0 {
		return c.off
	}
	done := max(e-c.slewAt, 0) / SlewDivisor
	switch {
	case c.slew > 0 && done < c.slew:
		return c.off + done
	case c.slew < 0 && done < -c.slew:
		return c.off - done
	}
	return c.off + c.slew
}

// fold makes the offset in force at e the base offset, ending any slew.
func (c *Clock) fold(e time.Duration) {
	c.off = c.offsetAt(e)
	c.slew, c.slewAt = 0, 0
}

// Step implements Target: the clock moves by d at once, and any slew in
// progress stops where it is.
func (c *Clock) Step(d time.Duration) error {
	e := c.elapsed()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fold(e)
	c.off += d
	c.stepped = true
	return nil
}

// Slew implements Target: the clock moves by d at 500 ppm, replacing the
// part of any earlier slew not yet applied.
func (c *Clock) Slew(d time.Duration) error {
	e := c.elapsed()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fold(e)
	c.slew, c.slewAt = d, e
	return nil
}

// Offset returns the offset in force (what Now adds to the base clock's
// time) and the part of the slew in progress still to be applied.
func (c *Clock) Offset() (off, pending time.Duration) {
	e := c.elapsed()
	c.mu.Lock()
	defer c.mu.Unlock()
	off = c.offsetAt(e)
	return off, c.off + c.slew - off
}

// Stepped reports whether the clock has been set (stepped at least once).
func (c *Clock) Stepped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stepped
}
