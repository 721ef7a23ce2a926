package ipv4

import (
	"bytes"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

func frag(id uint16, off int, mf bool, data []byte) []byte {
	return datagram(Fields{Protocol: inet.ProtoUDP, Src: peerAddr, Dst: ourAddr, ID: id, FragOffset: off, MF: mf}, data)
}

// split cuts p into fragments of n bytes (n a multiple of 8).
func split(id uint16, p []byte, n int) [][]byte {
	var out [][]byte
	for off := 0; off < len(p); off += n {
		end := min(off+n, len(p))
		out = append(out, frag(id, off, end < len(p), p[off:end]))
	}
	return out
}

func TestReassemblyOrders(t *testing.T) {
	p := seq(5000)
	orders := map[string][]int{
		"in order": {0, 1, 2, 3},
		"reverse":  {3, 2, 1, 0},
		"mixed":    {2, 0, 3, 1},
	}
	for name, order := range orders {
		e := newEnv(t, Config{})
		fs := split(9, p, 1480)
		for i, k := range order {
			if len(e.udp.got) != 0 {
				t.Fatalf("%s: delivered after %d fragments", name, i)
			}
			e.l.Input(peerMAC, ourMAC, fs[k], netif.RxMeta{})
		}
		if len(e.udp.got) != 1 || !bytes.Equal(e.udp.got[0].payload, p) {
			t.Fatalf("%s: got %d, stats %+v", name, len(e.udp.got), e.l.StatsLocked())
		}
		h := Header(e.udp.got[0].hdr)
		if h.IsFragment() || int(h.TotalLen()) != 5020 || !h.ValidChecksum() || h.ID() != 9 {
			t.Errorf("%s: reassembled header %x", name, h[:20])
		}
		s := e.l.StatsLocked()
		if s.Reassembled != 1 || s.FragmentsReceived != 4 || s.ReasmPending != 0 || s.ReasmMemory != 0 {
			t.Errorf("%s: stats %+v", name, s)
		}
	}
}

func TestReassemblyInterleaved(t *testing.T) {
	e := newEnv(t, Config{})
	a, b := split(1, seq(3000), 1000), split(2, bytes.Repeat([]byte{0xee}, 3000), 1000)
	for i := range a {
		e.l.Input(peerMAC, ourMAC, a[i], netif.RxMeta{})
		e.l.Input(peerMAC, ourMAC, b[len(b)-1-i], netif.RxMeta{})
	}
	if len(e.udp.got) != 2 || !bytes.Equal(e.udp.got[0].payload, seq(3000)) || e.udp.got[1].payload[2999] != 0xee {
		t.Errorf("got %d", len(e.udp.got))
	}
}

func TestReassemblyOverlapAndDuplicate(t *testing.T) {
	p := seq(3000)
	fs := split(5, p, 1000)
	e := newEnv(t, Config{})
	e.l.Input(peerMAC, ourMAC, fs[0], netif.RxMeta{})
	e.l.Input(peerMAC, ourMAC, fs[0], netif.RxMeta{}) // exact duplicate: ignored
	if s := e.l.StatsLocked(); s.ReasmDuplicates != 1 || s.ReasmPending != 1 {
		t.Fatalf("duplicate: %+v", s)
	}
	e.l.Input(peerMAC, ourMAC, fs[1], netif.RxMeta{})
	e.l.Input(peerMAC, ourMAC, fs[2], netif.RxMeta{})
	if len(e.udp.got) != 1 {
		t.Fatalf("not delivered after duplicate")
	}

	overlaps := map[string][]byte{
		"partial overlap":         frag(6, 992, true, seq(16)),
		"same range, other bytes": frag(6, 0, true, make([]byte, 1000)),
		"contained":               frag(6, 8, true, seq(8)),
		"covering":                frag(6, 0, true, seq(2000)),
	}
	for name, bad := range overlaps {
		e := newEnv(t, Config{})
		fs := split(6, p, 1000)
		e.l.Input(peerMAC, ourMAC, fs[0], netif.RxMeta{})
		e.l.Input(peerMAC, ourMAC, bad, netif.RxMeta{})
		s := e.l.StatsLocked()
		if s.ReasmOverlaps != 1 || s.ReasmPending != 0 || s.ReasmMemory != 0 {
			t.Errorf("%s: stats %+v", name, s)
		}
		// The rest of the datagram does not complete it.
		e.l.Input(peerMAC, ourMAC, fs[1], netif.RxMeta{})
		e.l.Input(peerMAC, ourMAC, fs[2], netif.RxMeta{})
		if len(e.udp.got) != 0 {
			t.Errorf("%s: delivered after overlap", name)
		}
	}
}

func TestReassemblyLimits(t *testing.T) {
	tests := []struct {
		name    string
		frags   [][]byte
		counter stat
	}{
		{"over 65535", [][]byte{frag(1, 65512, false, seq(8))}, func(s *Stats) uint64 { return s.ReasmDrops }},
		{"zero-length non-last", [][]byte{frag(1, 8, true, nil)}, func(s *Stats) uint64 { return s.ReasmDrops }},
		{"non-last not multiple of 8", [][]byte{frag(1, 0, true, seq(12))}, func(s *Stats) uint64 { return s.ReasmDrops }},
		{"tiny first fragment", [][]byte{frag(1, 0, true, nil)}, func(s *Stats) uint64 { return s.ReasmDrops }},
		{"tiny first (<8)", [][]byte{datagram(Fields{Protocol: 99, Src: peerAddr, Dst: ourAddr, ID: 1, MF: true}, seq(0))}, func(s *Stats) uint64 { return s.ReasmDrops }},
		{"tiny first TCP", [][]byte{datagram(Fields{Protocol: inet.ProtoTCP, Src: peerAddr, Dst: ourAddr, ID: 1, MF: true}, seq(16))}, func(s *Stats) uint64 { return s.ReasmTiny }},
		{"TCP offset 8", [][]byte{datagram(Fields{Protocol: inet.ProtoTCP, Src: peerAddr, Dst: ourAddr, ID: 1, FragOffset: 8, MF: true}, seq(16))}, func(s *Stats) uint64 { return s.ReasmTiny }},
		{"two different last fragments", [][]byte{frag(1, 16, false, seq(8)), frag(1, 32, false, seq(8))}, func(s *Stats) uint64 { return s.ReasmDrops }},
		{"data past last", [][]byte{frag(1, 16, false, seq(8)), frag(1, 24, true, seq(8))}, func(s *Stats) uint64 { return s.ReasmDrops }},
		{"last before data", [][]byte{frag(1, 24, true, seq(8)), frag(1, 16, false, seq(8))}, func(s *Stats) uint64 { return s.ReasmDrops }},
	}
	for _, tc := range tests {
		e := newEnv(t, Config{})
		for _, f := range tc.frags {
			e.l.Input(peerMAC, ourMAC, f, netif.RxMeta{})
		}
		s := e.l.StatsLocked()
		if tc.counter(&s) != 1 || s.ReasmPending != 0 || len(e.udp.got) != 0 {
			t.Errorf("%s: stats %+v", tc.name, s)
		}
	}
	// A zero-length last fragment is fine.
	e := newEnv(t, Config{})
	e.l.Input(peerMAC, ourMAC, frag(3, 0, true, seq(16)), netif.RxMeta{})
	e.l.Input(peerMAC, ourMAC, frag(3, 16, false, nil), netif.RxMeta{})
	if len(e.udp.got) != 1 || len(e.udp.got[0].payload) != 16 {
		t.Errorf("zero-length last: %+v", e.l.StatsLocked())
	}
	// The largest legal datagram reassembles.
	e = newEnv(t, Config{})
	p := seq(65515)
	for _, f := range split(4, p, 1480) {
		e.l.Input(peerMAC, ourMAC, f, netif.RxMeta{})
	}
	if len(e.udp.got) != 1 || !bytes.Equal(e.udp.got[0].payload, p) {
		t.Errorf("65535-byte datagram: %+v", e.l.StatsLocked())
	}
}

func TestReassemblyTimeout(t *testing.T) {
	e := newEnv(t, Config{})
	fs := split(7, seq(3000), 1000)
	e.l.Input(peerMAC, ourMAC, fs[0], netif.RxMeta{})
	e.l.Input(peerMAC, ourMAC, fs[2], netif.RxMeta{})
	e.clk.Advance(29 * time.Second)
	if s := e.l.StatsLocked(); s.ReasmPending != 1 || s.ReasmTimeouts != 0 {
		t.Fatalf("expired early: %+v", s)
	}
	e.clk.Advance(time.Second)
	s := e.l.StatsLocked()
	if s.ReasmPending != 0 || s.ReasmTimeouts != 1 || s.ReasmMemory != 0 {
		t.Fatalf("not expired: %+v", s)
	}
	if len(e.icmp.calls) != 1 || e.icmp.calls[0].typ != 11 || e.icmp.calls[0].code != 1 {
		t.Fatalf("icmp %+v", e.icmp.calls)
	}
	if off := e.icmp.calls[0].off; len(off) < 28 || !bytes.HasPrefix(fs[0], off) {
		t.Errorf("quoted %x, want first fragment's start", off)
	}
	// The late fragment starts a new datagram, which does not complete.
	e.l.Input(peerMAC, ourMAC, fs[1], netif.RxMeta{})
	if len(e.udp.got) != 0 {
		t.Error("completed with expired fragments")
	}
	// Without the first fragment no time exceeded is sent (RFC 1122 §3.3.2).
	e.clk.Advance(31 * time.Second)
	if len(e.icmp.calls) != 1 || e.l.StatsLocked().ReasmTimeouts != 2 {
		t.Errorf("icmp %+v stats %+v", e.icmp.calls, e.l.StatsLocked())
	}
}

func TestReassemblyMemoryCap(t *testing.T) {
	e := newEnv(t, Config{})
	cfg := e.l.cfg
	for i := 0; i < 10000; i++ {
		// Alternate first fragments and far-offset fragments.
		off := 0
		if i%2 == 1 {
			off = 64000
		}
		e.l.Input(peerMAC, ourMAC, frag(uint16(i), off, true, seq(1024)), netif.RxMeta{})
		s := e.l.StatsLocked()
		if s.ReasmMemory > uint64(cfg.ReasmMemory) || s.ReasmPending > uint64(cfg.ReasmDatagrams) {
			t.Fatalf("after %d: %+v", i, s)
		}
	}
	s := e.l.StatsLocked()
	if s.ReasmEvicted < 10000-uint64(cfg.ReasmDatagrams) {
		t.Errorf("evicted %d", s.ReasmEvicted)
	}
	// Tight memory cap: evicts by bytes, not count.
	e = newEnv(t, Config{ReasmMemory: 10 * chunkSize})
	for i := 0; i < 100; i++ {
		e.l.Input(peerMAC, ourMAC, frag(uint16(i), 0, true, seq(1000)), netif.RxMeta{})
	}
	if s := e.l.StatsLocked(); s.ReasmPending != 10 || s.ReasmMemory != 10*chunkSize {
		t.Errorf("byte cap: %+v", s)
	}
	// Everything expires.
	e.clk.Advance(31 * time.Second)
	if s := e.l.StatsLocked(); s.ReasmPending != 0 || s.ReasmMemory != 0 {
		t.Errorf("after expiry: %+v", s)
	}
	// A newer datagram still completes after evictions.
	for _, f := range split(500, seq(4000), 1480) {
		e.l.Input(peerMAC, ourMAC, f, netif.RxMeta{})
	}
	if len(e.udp.got) != 1 {
		t.Errorf("not delivered after churn: %+v", e.l.StatsLocked())
	}
}
