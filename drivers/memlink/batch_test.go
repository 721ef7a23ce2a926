package memlink

import (
	"testing"

	"github.com/mirago/mirago/stack/netif"
)

// TestBatchMarksMore checks that frames queued while the receiver was
// busy are handed up as a batch: every one but the last marked
// RxMeta.More, so the stack may defer its ACKs to the last.
func TestBatchMarksMore(t *testing.T) {
	s := NewSwitch(Config{})
	defer s.Close()
	a, b := s.NewPort(macA, 0), s.NewPort(macB, 0)
	busy, release := make(chan struct{}), make(chan struct{})
	got := make(chan bool, 8)
	first := true
	b.SetHandler(func(f []byte, m netif.RxMeta) {
		got <- m.More
		if first {
			first = false
			close(busy)
			<-release // the next frames queue meanwhile
		}
	})
	send := func() {
		if err := a.Transmit(frame(macB, macA, []byte("batch"), false)); err != nil {
			t.Fatal(err)
		}
	}
	send()
	<-busy
	for range 3 {
		send()
	}
	close(release)
	for i, want := range []bool{false, true, true, false} {
		if m := <-got; m != want {
			t.Errorf("frame %d: More = %v, want %v", i, m, want)
		}
	}
}
