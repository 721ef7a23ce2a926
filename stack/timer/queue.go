// Package timer is the stack's single deadline queue. Every protocol timer
// (TCP retransmission, delayed ACK, TIME_WAIT, keepalive, ARP aging and
// retries, reassembly expiry) is an Entry in one Queue, which keeps exactly
// one clock timer armed for the earliest deadline. Arming, moving or
// stopping an Entry is a heap operation: no goroutine, timer or allocation
// per packet.
package timer

import (
	"container/heap"
	"sync"
	"time"

	"github.com/mirago/mirago/stack/clock"
)

// Entry is one timer. Embed it or keep it in the owning object; the zero
// value is a stopped timer. Its callback runs with the queue's lock held.
type Entry struct {
	when  time.Time
	index int // position in the heap, -1 when not scheduled
	f     func(now time.Time)
	set   bool
}

// Init sets the callback. It must be called before Schedule.
func (e *Entry) Init(f func(now time.Time)) {
	e.f = f
	if !e.set {
		e.index = -1
		e.set = true
	}
}

// Pending reports whether e is scheduled.
func (e *Entry) Pending() bool { return e.set && e.index >= 0 }

// When returns the deadline of a pending entry.
func (e *Entry) When() time.Time { return e.when }

// Queue is a min-heap of Entries driven by a Clock. All methods except Fire
// (which the clock calls) must be called with the lock passed to New held;
// callbacks run with it held too.
type Queue struct {
	clk   clock.Clock
	lock  sync.Locker
	h     entryHeap
	t     clock.Timer
	armed time.Time // deadline the clock timer is armed for; zero if none
}

// New returns a queue that takes lock before running callbacks.
func New(clk clock.Clock, lock sync.Locker) *Queue {
	return &Queue{clk: clk, lock: lock}
}

// Now returns the clock's current time.
func (q *Queue) Now() time.Time { return q.clk.Now() }

// Clock returns the queue's clock.
func (q *Queue) Clock() clock.Clock { return q.clk }

// Schedule arms e for at, moving it if it is already pending.
func (q *Queue) Schedule(e *Entry, at time.Time) {
	if !e.set {
		e.index = -1
		e.set = true
	}
	e.when = at
	if e.index >= 0 {
		heap.Fix(&q.h, e.index)
	} else {
		heap.Push(&q.h, e)
	}
	q.rearm()
}

// After arms e for d from now.
func (q *Queue) After(e *Entry, d time.Duration) { q.Schedule(e, q.clk.Now().Add(d)) }

// Stop disarms e. Stopping a stopped entry does nothing.
func (q *Queue) Stop(e *Entry) {
	if !e.set || e.index < 0 {
		return
	}
	heap.Remove(&q.h, e.index)
	// The clock timer stays armed; when it fires early it is re-armed
	// for the new earliest deadline. This keeps Stop cheap.
}

// Len is the number of pending entries.
func (q *Queue) Len() int { return len(q.h) }

// rearm makes sure the clock timer fires no later than the earliest
// deadline. A later deadline never moves the clock timer (lazy re-arm), so
// a per-segment Schedule costs a heap fix only.
func (q *Queue) rearm() {
	if len(q.h) == 0 {
		return
	}
	first := q.h[0].when
	if !q.armed.IsZero() && !first.Before(q.armed) {
		return
	}
	d := first.Sub(q.clk.Now())
	if d < 0 {
		d = 0
	}
	q.armed = first
	if q.t == nil {
		q.t = q.clk.AfterFunc(d, q.Fire)
	} else {
		q.t.Reset(d)
	}
}

// Fire runs every entry whose deadline has passed. The clock calls it; it
// takes the lock itself.
func (q *Queue) Fire() {
	q.lock.Lock()
	defer q.lock.Unlock()
	q.armed = time.Time{}
	q.RunDue(q.clk.Now())
	q.rearm()
}

// RunDue runs, with the lock already held, every entry due at or before
// now. Entries armed by callbacks for a time at or before now run too.
func (q *Queue) RunDue(now time.Time) {
	for len(q.h) > 0 && !q.h[0].when.After(now) {
		e := heap.Pop(&q.h).(*Entry)
		if e.f != nil {
			e.f(now)
		}
	}
}

type entryHeap []*Entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].when.Before(h[j].when) }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *entryHeap) Push(x any) {
	e := x.(*Entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.index = -1
	*h = old[:n-1]
	return e
}
