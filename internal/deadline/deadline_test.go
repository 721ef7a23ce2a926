package deadline

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
)

func TestPastDeadlineWakesWaiter(t *testing.T) {
	var d Deadline
	done := d.Done()
	woke := make(chan struct{})
	go func() { <-done; close(woke) }()
	d.Set(time.Now().Add(-time.Second))
	select {
	case <-woke:
	case <-time.After(5 * time.Second):
		t.Fatal("past deadline did not wake the waiter")
	}
	if !d.Expired() {
		t.Fatal("Expired false after a past deadline")
	}
	d.Set(time.Time{})
	if d.Expired() {
		t.Fatal("clearing the deadline left it expired")
	}
	if !errors.Is(ErrTimeout, os.ErrDeadlineExceeded) {
		t.Fatal("ErrTimeout is not os.ErrDeadlineExceeded")
	}
	var te interface{ Timeout() bool }
	if !errors.As(ErrTimeout, &te) || !te.Timeout() {
		t.Fatal("ErrTimeout.Timeout() is not true")
	}
}

func TestFutureDeadlineFires(t *testing.T) {
	var d Deadline
	d.Set(time.Now().Add(10 * time.Millisecond))
	select {
	case <-d.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("deadline never fired")
	}
	d.Set(time.Now().Add(time.Hour))
	if d.Expired() {
		t.Fatal("re-armed deadline reports expired")
	}
}

// On an injected clock a deadline passes in virtual time, and a moved
// deadline keeps its channel for calls already waiting.
func TestVirtualClock(t *testing.T) {
	clk := clock.NewVirtual(time.Unix(1000, 0))
	var d Deadline
	d.UseClock(clk)
	d.Set(clk.Now().Add(time.Second))
	done := d.Done()
	clk.Advance(999 * time.Millisecond)
	if d.Expired() {
		t.Fatal("expired early")
	}
	d.Set(clk.Now().Add(time.Second)) // moved: the waiter's channel stays
	clk.Advance(999 * time.Millisecond)
	if d.Expired() {
		t.Fatal("moved deadline expired at the old time")
	}
	clk.Advance(time.Millisecond)
	select {
	case <-done:
	default:
		t.Fatal("the channel taken before the move did not close")
	}
	if !d.Expired() {
		t.Fatal("not expired after the deadline")
	}
}
