package stack_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
)

// TestTwoStacksBackpressure runs 64 bulk connections from A to B over a
// memlink switch with Backpressure and 16-frame rings, much less than the
// flows' windows: the switch drops nothing (a full ring refuses the frame
// with netif.ErrBusy, TCP keeps it and sends it when the ring has drained,
// stack/tcp/txsched.go), and every byte arrives intact.
func TestTwoStacksBackpressure(t *testing.T) {
	for _, off := range []bool{false, true} {
		name := "plain"
		if off {
			name = "offload"
		}
		t.Run(name, func(t *testing.T) {
			sw := memlink.NewSwitch(memlink.Config{RingSize: 16, Backpressure: true, Offload: off})
			t.Cleanup(func() { sw.Close() })
			mk := func(mac inet.MAC, addr string) *stack.Stack {
				pfx, err := inet.ParsePrefix4(addr)
				if err != nil {
					t.Fatal(err)
				}
				s, err := stack.New(sw.NewPort(mac, 1500), stack.Config{Addr: pfx})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			a := mk(inet.MAC{2, 0, 0, 0, 0, 1}, "10.0.0.1/24")
			b := mk(inet.MAC{2, 0, 0, 0, 0, 2}, "10.0.0.2/24")
			const flows, size = 64, 1 << 20
			ln, err := b.TCP().Listen(5001)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, 2*flows)
			for i := range flows {
				ca, err := a.TCP().Dial(ctx, netip.MustParseAddrPort("10.0.0.2:5001"))
				if err != nil {
					t.Fatal(err)
				}
				cb, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				stop := context.AfterFunc(ctx, func() { ca.Close(); cb.Close() })
				defer stop()
				wg.Add(2)
				go func(c net.Conn) {
					defer wg.Done()
					defer c.Close()
					if _, err := io.Copy(c, stacktest.Stream(uint64(i), size)); err != nil {
						errs <- err
					}
				}(ca)
				go func(c net.Conn) {
					defer wg.Done()
					defer c.Close()
					got, err := io.ReadAll(c)
					want, _ := io.ReadAll(stacktest.Stream(uint64(i), size))
					if err != nil || !bytes.Equal(got, want) {
						errs <- fmt.Errorf("flow %d: %d bytes, error %v (nil: the bytes differ)", i, len(got), err)
					}
				}(cb)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			sa, sb := a.Stats().TCP, b.Stats().TCP
			t.Logf("A: device busy %d in %d episodes, retransmits %d (probes %d), RTOs %d; B: busy %d; switch drops %d",
				sa.DeviceBusy, sa.DeviceEpisodes, sa.Retransmits, sa.TailLossProbes, sa.RTOEvents, sb.DeviceBusy, sw.Dropped())
			if sw.Dropped() != 0 {
				t.Errorf("the switch dropped %d frames under backpressure", sw.Dropped())
			}
			if sa.DeviceBusy == 0 {
				t.Errorf("no segment was ever refused: the test tests nothing")
			}
		})
	}
}
