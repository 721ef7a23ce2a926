package stack_test

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// pair6 is two stacks on a switch (each port through wrap, if set) with
// IPv6 addresses: link-local and global, EUI-64.
func pair6(t *testing.T, wrap func(inet.MAC, netif.Device) netif.Device) (a, b *stack.Stack, aLL, aG, bLL, bG inet.Addr) {
	a, b = stacktest.PairWith(t, wrap)
	aLL, aG = stacktest.Address6(t, a)
	bLL, bG = stacktest.Address6(t, b)
	return
}

func TestPing6(t *testing.T) {
	a, b, aLL, aG, bLL, bG := pair6(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range []struct {
		from *stack.Stack
		to   inet.Addr
	}{{a, bLL}, {a, bG}, {b, aLL}, {b, aG}, {a, inet.IPv6AllNodes}} {
		if _, err := c.from.Ping(ctx, c.to, []byte("ping over IPv6")); err != nil {
			t.Fatalf("ping %v: %v", c.to, err)
		}
	}
	st := b.Stats()
	if st.ICMPv6.EchoRequestsIn != 3 || st.ICMPv6.EchoRepliesOut != 3 {
		t.Errorf("b's ICMPv6: %+v", st.ICMPv6)
	}
	// A big ping goes out in fragments and comes back in fragments.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	if _, err := a.Ping(ctx, bG, big); err != nil {
		t.Fatalf("16000-byte ping: %v (a %+v, b %+v)", err, a.Stats().IPv6, b.Stats().IPv6)
	}
	if sa, sb := a.Stats().IPv6, b.Stats().IPv6; sa.FragmentedSent != 1 || sb.Reassembled != 1 || sb.FragmentedSent != 1 || sa.Reassembled != 1 {
		t.Errorf("fragments: a %+v\nb %+v", sa, sb)
	}
}

// TestUDP6Fragmented sends a 20 KB UDP datagram each way over IPv6,
// with and without faults on the link (the datagram is resent until one
// copy arrives whole).
func TestUDP6Fragmented(t *testing.T) {
	for _, spec := range []string{"", "loss=0.05,reorder=0.2,dup=0.05,seed=3"} {
		t.Run("impair="+spec, func(t *testing.T) {
			wrap := func(mac inet.MAC, d netif.Device) netif.Device { return stacktest.Impair(t, d, spec, 0) }
			a, b, _, aG, _, bG := pair6(t, wrap)
			msg := make([]byte, 20000)
			stacktest.Stream(7, int64(len(msg))).Read(msg)
			for _, dir := range []struct {
				from, to *stack.Stack
				dst      inet.Addr
			}{{a, b, bG}, {b, a, aG}} {
				rx, err := dir.to.UDP().Bind(netip.AddrPortFrom(netip.IPv6Unspecified(), 9000))
				if err != nil {
					t.Fatal(err)
				}
				tx, err := dir.from.UDP().Dial(dir.dst.AddrPort(9000))
				if err != nil {
					t.Fatal(err)
				}
				got := make(chan []byte, 1)
				go func() {
					buf := make([]byte, 65536)
					rx.SetReadDeadline(time.Now().Add(20 * time.Second))
					n, _, err := rx.ReadFrom(buf)
					if err != nil {
						got <- nil
						return
					}
					got <- buf[:n]
				}()
				var g []byte
			send:
				for range 50 {
					if _, err := tx.Write(msg); err != nil {
						t.Fatal(err)
					}
					select {
					case g = <-got:
						break send
					case <-time.After(200 * time.Millisecond):
					}
				}
				if !bytes.Equal(g, msg) {
					t.Fatalf("to %v: got %d bytes, want the 20000 sent (from %+v, to %+v)", dir.dst, len(g), dir.from.Stats().IPv6, dir.to.Stats().IPv6)
				}
				tx.Close()
				rx.Close()
			}
		})
	}
}
