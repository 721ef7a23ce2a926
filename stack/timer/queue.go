// Package timer is the stack's single deadline queue. Every protocol timer
// (TCP retransmission, delayed ACK, TIME_WAIT, keepalive, ARP aging and
// retries, reassembly expiry) is an Entry in one Queue, which keeps exactly
// one clock timer armed for the earliest deadline. Arming, moving or
// stopping an Entry is a heap operation: no goroutine, timer or allocation
// per packet.
package timer

import (
	"container/heap"
	"math"
	"sync"
	"time"

	"github.com/mirago/mirago/stack/clock"
)

// Entry is one timer. Embed it or keep it in the owning object; the zero
// value is a stopped timer. Its callback runs with the queue's lock held.
//
// An Entry is 24 bytes (TCP keeps three per connection): its deadline is
// held as nanoseconds since the queue's base time, and its heap position
// as an int32.
type Entry struct {
	when  int64 // deadline, in ns since the queue's base
	f     func(now time.Time)
	index int32 // position in the heap, -1 when not scheduled
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

// Queue is a min-heap of Entries driven by a Clock. All methods except Fire
// (which the clock calls) must be called with the lock passed to New held;
// callbacks run with it held too.
type Queue struct {
	clk   clock.Clock
	lock  sync.Locker
	base  time.Time // the entries' deadlines count from here
	h     entryHeap
	t     clock.Timer
	armed int64 // deadline the clock timer is armed for (ns since base); noTimer if none
}

// noTimer is Queue.armed while the clock timer is not armed.
const noTimer = math.MaxInt64

// New returns a queue that takes lock before running callbacks.
func New(clk clock.Clock, lock sync.Locker) *Queue {
	return &Queue{clk: clk, lock: lock, base: clk.Now(), armed: noTimer}
}

// When returns the deadline of a pending entry.
func (q *Queue) When(e *Entry) time.Time { return q.base.Add(time.Duration(e.when)) }

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
	e.when = int64(at.Sub(q.base))
	if e.index >= 0 {
		heap.Fix(&q.h, int(e.index))
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
	heap.Remove(&q.h, int(e.index))
	// The clock timer stays armed; when it fires early it is re-armed
	// for the new earliest deadline. This keeps Stop cheap.
}

// Shift moves the queue's base time by d, and with it every entry's
// deadline: what was due in 5 s is still due in 5 s after the clock the
// queue reads has been stepped forward by d (a board setting its clock
// from NTP; Stack.StepClock). The clock timer, armed on the old time,
// then fires early and is re-armed.
func (q *Queue) Shift(d time.Duration) { q.base = q.base.Add(d) }

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
	if first >= q.armed {
		return
	}
	d := time.Duration(first) - q.clk.Now().Sub(q.base)
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
	q.armed = noTimer
	q.RunDue(q.clk.Now())
	q.rearm()
}

// RunDue runs, with the lock already held, every entry due at or before
// now. Entries armed by callbacks for a time at or before now run too.
func (q *Queue) RunDue(now time.Time) {
	at := int64(now.Sub(q.base))
	for len(q.h) > 0 && q.h[0].when <= at {
		e := heap.Pop(&q.h).(*Entry)
		if e.f != nil {
			e.f(now)
		}
	}
}

type entryHeap []*Entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].when < h[j].when }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = int32(i)
	h[j].index = int32(j)
}
func (h *entryHeap) Push(x any) {
	e := x.(*Entry)
	e.index = int32(len(*h))
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
