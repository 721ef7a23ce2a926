// Package deadline implements net.Conn deadlines for the blocking APIs of
// the stack's sockets and of flows: a channel that is closed when the
// deadline passes, so a blocked call can select on it next to its wake-up
// channel. The time comes from an injected clock (the stack's, for UDP),
// so deadlines run in virtual time in tests. (TCP keeps its deadlines in
// its connection's timer entries, on the same clock, to stay small.)
package deadline

import (
	"os"
	"sync"
	"time"

	"github.com/mirago/mirago/stack/clock"
)

// ErrTimeout is returned by a call whose deadline passed. It is
// os.ErrDeadlineExceeded, whose Timeout method reports true, as net/http
// and the net.Conn contract expect.
var ErrTimeout = os.ErrDeadlineExceeded

// Deadline is one direction's deadline. The zero value has no deadline
// and runs on the real clock. Moving a deadline that has not passed keeps
// its channel, so calls already blocked see the new time.
type Deadline struct {
	mu    sync.Mutex
	clk   clock.Clock // nil: clock.Real
	timer clock.Timer
	ch    chan struct{} // closed when the deadline has passed
}

// UseClock makes d read time from c (before d is first Set).
func (d *Deadline) UseClock(c clock.Clock) {
	d.mu.Lock()
	d.clk = c
	d.mu.Unlock()
}

// Set arms the deadline for t; the zero time disarms it. A time in the
// past expires it at once, waking any call blocked on Done.
func (d *Deadline) Set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		// The timer fired (or is firing): its channel is closed, so
		// waiters from now on need a fresh one.
		d.ch = nil
	}
	d.timer = nil
	if d.ch != nil {
		select {
		case <-d.ch:
			d.ch = nil
		default:
		}
	}
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	clk := d.clk
	if clk == nil {
		clk = clock.Real{}
	}
	dur := t.Sub(clk.Now())
	if dur <= 0 {
		close(d.ch)
		return
	}
	ch := d.ch
	d.timer = clk.AfterFunc(dur, func() { close(ch) })
}

// Done returns a channel that is closed once the deadline has passed. It
// is never closed when no deadline is set.
func (d *Deadline) Done() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	return d.ch
}

// Expired reports whether the deadline has passed.
func (d *Deadline) Expired() bool {
	select {
	case <-d.Done():
		return true
	default:
		return false
	}
}
