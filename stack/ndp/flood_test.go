package ndp

import (
	"encoding/binary"
	"testing"

	"github.com/mirago/mirago/stack/inet"
)

// nth is the n-th address of 2001:db8:f::/64.
func nth(n int) inet.Addr {
	b := addr("2001:db8:f::").As16()
	binary.BigEndian.PutUint32(b[12:], uint32(n+1))
	return inet.AddrFrom16(b)
}

// onLinkF puts 2001:db8:f::/64 on-link, without SLAAC.
func (h *harness) onLinkF() {
	h.input(llR, inet.IPv6AllNodes, ra(0, opts(&PrefixInfoFields{64, true, false, Infinity, Infinity, addr("2001:db8:f::")})))
}

func TestSolicitationFloodKeepsNeighborsInUse(t *testing.T) {
	h := newHarness(t, Config{CacheSize: 16}).started()
	h.input(llR, inet.IPv6AllNodes, ra(1800, sllOpt(macR)))
	h.output(llUs, remote, 1) // the router is in use
	h.input(llR, llUs, na(llR, true, true, true, macR))
	sn := inet.SolicitedNode(llUs)
	for i := range 5000 {
		h.input(nth(i), sn, ns(llUs, inet.MAC{2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	s := h.stats()
	if s.CacheSize > 16 || s.Learned < 16 || s.Evictions == 0 {
		t.Fatalf("stats %+v", s)
	}
	if n, ok := h.neighbor(llR); !ok || n.MAC != macR {
		t.Fatal("the router was pushed out by a flood of solicitations")
	}
	h.take()
	h.output(llUs, remote, 2)
	if fs := h.take(); len(fs) != 1 || decode(t, fs[0]).dstMAC != macR {
		t.Fatal("traffic to the router needs resolving again")
	}
}

func TestCacheFullOfNeighborsInUseRefusesLearning(t *testing.T) {
	h := newHarness(t, Config{CacheSize: 4, StaleTime: 1 << 40}).started()
	h.onLinkF()
	for i := range 4 {
		h.output(llUs, nth(i), 1)
		h.input(nth(i), llUs, na(nth(i), true, true, false, inet.MAC{2, 0, 0, 0, 0, byte(i)}))
	}
	sn := inet.SolicitedNode(llUs)
	for i := 100; i < 200; i++ {
		h.input(nth(i), sn, ns(llUs, inet.MAC{2, 0, 0, 0, 1, byte(i)}))
	}
	for i := range 4 {
		if _, ok := h.neighbor(nth(i)); !ok {
			t.Fatalf("neighbor %d in use was evicted", i)
		}
	}
	if s := h.stats(); s.LearnRefused != 100 {
		t.Fatalf("stats %+v", s)
	}
}

func TestIncompleteEntriesBounded(t *testing.T) {
	h := newHarness(t, Config{CacheSize: 64}).started()
	h.input(llR, inet.IPv6AllNodes, ra(1800, sllOpt(macR), prefixOpt("2001:db8:f::", 86400, 86400)))
	h.output(llUs, llR, 1)
	h.input(llR, llUs, na(llR, true, true, true, macR))
	// A scan of the on-link /64 (RFC 6583): each destination starts a
	// resolution.
	for i := range 1000 {
		h.output(llUs, nth(i), 1)
	}
	s := h.stats()
	if s.Incomplete > 16 || s.CacheSize > 64 || s.Pending > DefaultPendingTotal {
		t.Fatalf("stats %+v", s)
	}
	if n, _ := h.neighbor(llR); n.State != StateReachable {
		t.Fatalf("router entry %+v after the scan", n)
	}
}

func TestQueueBounded(t *testing.T) {
	h := newHarness(t, Config{PendingTotal: 5, PendingPerAddr: 2}).started()
	h.onLinkF()
	for i := range 10 {
		err := h.output(llUs, addr("fe80::100"), byte(i))
		if err != nil {
			t.Fatal(err)
		}
	}
	var full int
	for i := range 10 {
		if err := h.output(llUs, nth(i), 1); err == ErrNoRoute {
			t.Fatal(err)
		} else if err == ErrQueueFull {
			full++
		}
	}
	if s := h.stats(); s.Pending != 5 || full == 0 {
		t.Fatalf("stats %+v, %d refused", s, full)
	}
}
