package impair

import (
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// TestRealClockOverMemlink runs the impairment on the real clock, with
// concurrent senders, over the in-memory switch: every frame that is not
// lost must arrive.
func TestRealClockOverMemlink(t *testing.T) {
	sw := memlink.NewSwitch(memlink.Config{RingSize: 1024})
	defer sw.Close()
	a := Wrap(sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 1}, 0),
		Spec{Loss: 0.1, Dup: 0.1, Reorder: 0.1, Delay: time.Millisecond, Jitter: 500 * time.Microsecond, Seed: 5}, clock.Real{})
	defer a.Close()
	b := sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 2}, 0) // receives the flooded broadcasts
	got := make(chan struct{}, 4096)
	b.SetHandler(func([]byte, netif.RxMeta) { got <- struct{}{} })
	a.SetHandler(func([]byte, netif.RxMeta) {})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				a.Transmit(frame(uint32(g*1000+i), 200))
			}
		}()
	}
	wg.Wait()
	st := a.Faults().Tx
	want := int(st.Frames - st.Lost + st.Duplicated - st.Overflow)
	deadline := time.After(5 * time.Second)
	for i := 0; i < want; i++ {
		select {
		case <-got:
		case <-deadline:
			t.Fatalf("%d of %d frames arrived; counters %+v", i, want, a.Faults().Tx)
		}
	}
}
