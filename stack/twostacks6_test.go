package stack_test

import (
	"net/netip"
	"testing"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// addressed6 gives both stacks IPv6 addresses and returns B's global one.
func addressed6(t *testing.T, a, b *stack.Stack) (bG string) {
	t.Helper()
	stacktest.Address6(t, a)
	_, g := stacktest.Address6(t, b)
	return g.String()
}

// checkAllIPv6 asserts that the TCP traffic between a and b went over
// IPv6, with the offloads used and (when corrupt) checksum drops.
func checkAllIPv6(t *testing.T, a, b *stack.Stack, corrupt bool) {
	t.Helper()
	for i, s := range []*stack.Stack{a, b} {
		st := s.Stats().TCP
		t.Logf("stack %d over IPv6: %d segments out (%d TSO), %d large in, %d retransmits, %d checksum drops",
			i, st.IPv6.SegmentsOut, st.IPv6.LargeSegmentsOut, st.IPv6.LargeSegmentsIn, st.IPv6.Retransmits, st.IPv6.Drops[tcp.DropChecksum])
		if st.IPv6.SegmentsOut != st.SegmentsOut || st.IPv6.SegmentsIn != st.SegmentsIn {
			t.Errorf("stack %d: %d of %d segments out and %d of %d in over IPv6", i, st.IPv6.SegmentsOut, st.SegmentsOut, st.IPv6.SegmentsIn, st.SegmentsIn)
		}
		if st.IPv6.LargeSegmentsOut == 0 || st.IPv6.LargeSegmentsIn == 0 {
			t.Errorf("stack %d: TSO6 unused", i)
		}
	}
	if corrupt && a.Stats().TCP.IPv6.Drops[tcp.DropChecksum]+b.Stats().TCP.IPv6.Drops[tcp.DropChecksum] == 0 {
		t.Error("corrupted segments, none dropped for the IPv6 pseudo-header checksum")
	}
}

// TestTwoStacksTCP6 moves 64 MiB each way over IPv6 between two stacks
// on ports with a virtio-net device's offloads (TSO6), SHA-256 checked.
func TestTwoStacksTCP6(t *testing.T) {
	a, b := stacktest.PairSwitch(t, memlink.Config{Offload: true}, stack.Config{}, impaired(t, ""))
	tcpBothWaysTo(t, a, b, mustAddr(addressed6(t, a, b)), 64<<20)
	checkAllIPv6(t, a, b, false)
}

// TestTwoStacksTCP6Impaired: 64 MiB each way over IPv6 through links that
// lose, reorder, duplicate and corrupt frames.
func TestTwoStacksTCP6Impaired(t *testing.T) {
	a, b := stacktest.PairSwitch(t, memlink.Config{Offload: true}, stack.Config{}, impaired(t, "loss=0.01,reorder=0.02,dup=0.01,corrupt=0.002"))
	tcpBothWaysTo(t, a, b, mustAddr(addressed6(t, a, b)), 64<<20)
	checkAllIPv6(t, a, b, true)
}

// TestTwoStacksTCP6NoOffload is the same over plain ports, 16 MiB: every
// checksum computed over the IPv6 pseudo-header in software.
func TestTwoStacksTCP6NoOffload(t *testing.T) {
	a, b := pair(t, "")
	tcpBothWaysTo(t, a, b, mustAddr(addressed6(t, a, b)), 16<<20)
	if st := b.Stats().TCP; st.IPv6.SegmentsIn == 0 || st.IPv6.ChecksumsOffloaded != 0 {
		t.Fatalf("B over IPv6: %+v", st.IPv6)
	}
}

// TestTwoStacksUDP6 echoes datagrams over IPv6 up to a 20 KB one, which
// goes in fragments both ways.
func TestTwoStacksUDP6(t *testing.T) {
	a, b := pair(t, "")
	udpExchangeTo(t, a, b, mustAddr(addressed6(t, a, b)), []int{0, 1, 64, 1452, 1453, 20000}, false)
	if st := b.Stats(); st.IPv6.Reassembled == 0 || st.UDP.IPv6.InDatagrams != 6 || st.UDP.IPv6.OutDatagrams != 6 {
		t.Fatalf("B: IPv6 reassembled %d, UDP over IPv6 %+v", st.IPv6.Reassembled, st.UDP.IPv6)
	}
}

func TestTwoStacksUDP6Impaired(t *testing.T) {
	a, b := pair(t, "loss=0.02,reorder=0.05,dup=0.01,corrupt=0.001,delay=1ms")
	udpExchangeTo(t, a, b, mustAddr(addressed6(t, a, b)), []int{1, 1452, 20000}, true)
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
