package clock

import (
	"testing"
	"time"
)

func TestVirtualFiresInOrder(t *testing.T) {
	start := time.Unix(1000, 0)
	c := NewVirtual(start)
	var got []int
	var at []time.Duration
	rec := func(i int) func() {
		return func() { got = append(got, i); at = append(at, c.Now().Sub(start)) }
	}
	c.AfterFunc(3*time.Second, rec(3))
	c.AfterFunc(1*time.Second, rec(1))
	t2 := c.AfterFunc(2*time.Second, rec(2))
	stopped := c.AfterFunc(2*time.Second, rec(99))
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	c.Advance(1500 * time.Millisecond)
	if len(got) != 1 || got[0] != 1 || at[0] != time.Second {
		t.Fatalf("after 1.5s: fired %v at %v", got, at)
	}
	t2.Reset(5 * time.Second) // now due at 6.5s
	c.Advance(10 * time.Second)
	want := []int{1, 3, 2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fired %v, want %v", got, want)
		}
	}
	if at[2] != 6500*time.Millisecond {
		t.Fatalf("reset timer fired at %v", at[2])
	}
	if c.Now().Sub(start) != 11500*time.Millisecond {
		t.Fatalf("Now = %v", c.Now().Sub(start))
	}
	if c.Pending() != 0 {
		t.Fatalf("%d timers still pending", c.Pending())
	}
}

func TestVirtualTimerArmedByTimerFiresInSameAdvance(t *testing.T) {
	c := NewVirtual(time.Unix(0, 0))
	n := 0
	var f func()
	f = func() {
		n++
		if n < 5 {
			c.AfterFunc(time.Second, f)
		}
	}
	c.AfterFunc(time.Second, f)
	c.Advance(10 * time.Second)
	if n != 5 {
		t.Fatalf("chained timer fired %d times, want 5", n)
	}
}
