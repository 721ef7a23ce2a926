package timer

import (
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
)

func TestQueueOrderMoveStop(t *testing.T) {
	start := time.Unix(0, 0)
	c := clock.NewVirtual(start)
	var mu sync.Mutex
	q := New(c, &mu)
	var fired []string
	mk := func(name string) *Entry {
		e := &Entry{}
		e.Init(func(now time.Time) { fired = append(fired, name+"@"+now.Sub(start).String()) })
		return e
	}
	a, b, d := mk("a"), mk("b"), mk("d")
	mu.Lock()
	q.After(a, 3*time.Second)
	q.After(b, 1*time.Second)
	q.After(d, 2*time.Second)
	q.After(b, 4*time.Second) // move b later
	q.Stop(d)
	q.Stop(d) // double stop is harmless
	if a.Pending() != true || d.Pending() {
		t.Fatal("Pending wrong")
	}
	mu.Unlock()

	c.Advance(10 * time.Second)
	want := []string{"a@3s", "b@4s"}
	if len(fired) != len(want) || fired[0] != want[0] || fired[1] != want[1] {
		t.Fatalf("fired %v, want %v", fired, want)
	}
	if q.Len() != 0 || c.Pending() != 0 {
		t.Fatalf("queue %d, clock timers %d left", q.Len(), c.Pending())
	}
}

func TestQueueEarlierDeadlineRearms(t *testing.T) {
	c := clock.NewVirtual(time.Unix(0, 0))
	var mu sync.Mutex
	q := New(c, &mu)
	var at time.Duration
	e, early := &Entry{}, &Entry{}
	e.Init(func(time.Time) {})
	early.Init(func(now time.Time) { at = now.Sub(time.Unix(0, 0)) })
	mu.Lock()
	q.After(e, time.Hour)
	q.After(early, time.Second)
	mu.Unlock()
	c.Advance(2 * time.Second)
	if at != time.Second {
		t.Fatalf("early entry fired at %v, want 1s", at)
	}
	if !e.Pending() {
		t.Fatal("late entry fired early")
	}
}

func TestQueueScheduleNoAllocs(t *testing.T) {
	c := clock.NewVirtual(time.Unix(0, 0))
	var mu sync.Mutex
	q := New(c, &mu)
	e := &Entry{}
	e.Init(func(time.Time) {})
	q.After(e, time.Second)
	allocs := testing.AllocsPerRun(1000, func() {
		q.After(e, 2*time.Second)
		q.Stop(e)
		q.After(e, 3*time.Second)
	})
	if allocs != 0 {
		t.Fatalf("Schedule/Stop allocated %.1f per run", allocs)
	}
}
