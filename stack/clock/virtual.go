package clock

import (
	"sync"
	"time"
)

// Virtual is a manually advanced clock for tests. Timers fire inside
// Advance, in deadline order, in the goroutine that calls Advance; Now
// observed by a firing timer equals its deadline. It is safe for concurrent
// use.
type Virtual struct {
	mu     sync.Mutex
	now    time.Time
	timers []*virtualTimer
	seq    uint64
}

// NewVirtual returns a virtual clock set to start.
func NewVirtual(start time.Time) *Virtual { return &Virtual{now: start} }

type virtualTimer struct {
	c    *Virtual
	when time.Time
	seq  uint64 // FIFO among equal deadlines
	f    func()
	live bool
}

// Now implements Clock.
func (c *Virtual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc implements Clock.
func (c *Virtual) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &virtualTimer{c: c, f: f}
	c.arm(t, d)
	return t
}

func (c *Virtual) arm(t *virtualTimer, d time.Duration) {
	if d < 0 {
		d = 0
	}
	c.seq++
	t.when, t.seq, t.live = c.now.Add(d), c.seq, true
	for _, x := range c.timers {
		if x == t {
			return
		}
	}
	c.timers = append(c.timers, t)
}

func (t *virtualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.live
	t.live = false
	t.c.remove(t)
	return was
}

func (t *virtualTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.live
	t.c.arm(t, d)
	return was
}

func (c *Virtual) remove(t *virtualTimer) {
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return
		}
	}
}

// next pops the earliest timer due at or before limit, advancing now to its
// deadline.
func (c *Virtual) next(limit time.Time) *virtualTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *virtualTimer
	for _, t := range c.timers {
		if t.when.After(limit) {
			continue
		}
		if best == nil || t.when.Before(best.when) || (t.when.Equal(best.when) && t.seq < best.seq) {
			best = t
		}
	}
	if best == nil {
		c.now = limit
		return nil
	}
	c.remove(best)
	best.live = false
	if best.when.After(c.now) {
		c.now = best.when
	}
	return best
}

// Advance moves time forward by d, firing every timer that falls due, in
// order, including timers armed by the timers it fires.
func (c *Virtual) Advance(d time.Duration) {
	limit := c.Now().Add(d)
	for {
		t := c.next(limit)
		if t == nil {
			return
		}
		t.f()
	}
}

// Pending reports how many timers are armed.
func (c *Virtual) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// NextDeadline returns the earliest armed deadline and true, or false when
// no timer is armed.
func (c *Virtual) NextDeadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best time.Time
	ok := false
	for _, t := range c.timers {
		if !ok || t.when.Before(best) {
			best, ok = t.when, true
		}
	}
	return best, ok
}
