package ipv6

import (
	"bytes"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// fragPkt is one fragment from the peer to us: a Fragment header for
// the UDP datagram whole (ID id), then whole[off:end].
func fragPkt(id uint32, whole []byte, off, end int, more bool) []byte {
	return packet(Fields{NextHeader: inet.ProtoFragment, Src: peerAddr, Dst: ourAddr}, frag(inet.ProtoUDP, off, more, id, whole[off:end]))
}

// udpWhole is a UDP datagram (8-byte header, n bytes of data).
func udpWhole(n int) []byte {
	return append([]byte{0x13, 0x88, 0, 53, byte((n + 8) >> 8), byte(n + 8), 0, 0}, seq(n)...)
}

func TestReassembly(t *testing.T) {
	e := newEnv(t, Config{})
	d := udpWhole(3000)
	parts := [][]byte{fragPkt(1, d, 0, 1232, true), fragPkt(1, d, 1232, 2464, true), fragPkt(1, d, 2464, len(d), false)}
	for _, i := range []int{2, 0, 2, 1} { // out of order, one twice
		e.input(peerMAC, ourMAC, parts[i])
	}
	if len(e.udp.got) != 1 {
		t.Fatalf("not reassembled: %+v", e.l.StatsLocked())
	}
	g := e.udp.got[0]
	if !bytes.Equal(g.payload, d) || !g.p.Fragmented || g.p.CsumVerified {
		t.Errorf("payload %d bytes, fragmented %v", len(g.payload), g.p.Fragmented)
	}
	// The packet handed up is the unfragmentable part then the data, as
	// if it had never been fragmented.
	h := Header(g.hdr)
	if h.NextHeader() != inet.ProtoUDP || int(h.PayloadLen()) != len(d) || h.Src() != peerAddr {
		t.Errorf("header %x", g.hdr[:40])
	}
	s := e.l.StatsLocked()
	if s.Reassembled != 1 || s.ReasmDuplicates != 1 || s.ReasmPending != 0 || s.ReasmMemory != 0 || s.FragmentsReceived != 4 {
		t.Errorf("stats %+v", s)
	}
}

// A Destination Options header before the Fragment header stays in the
// unfragmentable part; one after it is in the fragmentable part.
func TestReassemblyWithExtensionHeaders(t *testing.T) {
	e := newEnv(t, Config{})
	d := cat(ext(inet.ProtoUDP, 0x1e, 2, 7, 7), udpWhole(1500))
	unfrag := ext(inet.ProtoFragment, OptPad1)
	mk := func(off, end int, more bool) []byte {
		return packet(Fields{NextHeader: inet.ProtoDestOpts, Src: peerAddr, Dst: ourAddr}, cat(unfrag, frag(inet.ProtoDestOpts, off, more, 9, d[off:end])))
	}
	e.input(peerMAC, ourMAC, mk(1200, len(d), false))
	e.input(peerMAC, ourMAC, mk(0, 1200, true))
	if len(e.udp.got) != 1 || !bytes.Equal(e.udp.got[0].payload, d[8:]) {
		t.Fatalf("not delivered: %+v", e.l.StatsLocked())
	}
	h := Header(e.udp.got[0].hdr)
	if h.NextHeader() != inet.ProtoDestOpts || h[HeaderLen] != inet.ProtoDestOpts || int(h.PayloadLen()) != 8+len(d) {
		t.Errorf("reassembled %x", e.udp.got[0].hdr[:56])
	}
}

func TestAtomicFragment(t *testing.T) {
	e := newEnv(t, Config{})
	d := udpWhole(20)
	// A partial packet with the same ID is pending: the atomic fragment
	// must not join it (RFC 6946 §4).
	e.input(peerMAC, ourMAC, fragPkt(5, udpWhole(100), 0, 56, true))
	e.input(peerMAC, ourMAC, fragPkt(5, d, 0, len(d), false))
	if len(e.udp.got) != 1 || !bytes.Equal(e.udp.got[0].payload, d) || !e.udp.got[0].p.Fragmented {
		t.Fatalf("atomic fragment: %+v", e.l.StatsLocked())
	}
	if s := e.l.StatsLocked(); s.AtomicFragments != 1 || s.ReasmPending != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestFragmentChecks(t *testing.T) {
	d := udpWhole(200)
	tcpFirst := packet(Fields{NextHeader: inet.ProtoFragment, Src: peerAddr, Dst: ourAddr}, frag(inet.ProtoTCP, 0, true, 1, seq(16)))
	chainCut := packet(Fields{NextHeader: inet.ProtoFragment, Src: peerAddr, Dst: ourAddr},
		frag(inet.ProtoDestOpts, 0, true, 1, cat(ext(inet.ProtoUDP, opts(30)...), []byte{1, 2, 3, 4, 5, 6, 7, 8})[:32]))
	udpCut := packet(Fields{NextHeader: inet.ProtoFragment, Src: peerAddr, Dst: ourAddr}, frag(inet.ProtoUDP, 0, true, 1, d[:0]))
	cases := []struct {
		name    string
		p       []byte
		pp      icmpCall
		counter func(Stats) uint64
	}{
		{"M set, 100 bytes", fragPkt(1, d, 0, 100, true), icmpCall{4, 0, 4, nil}, func(s Stats) uint64 { return s.ReasmBadLength }},
		{"M set, 0 bytes", fragPkt(1, d, 8, 8, true), icmpCall{4, 0, 4, nil}, func(s Stats) uint64 { return s.ReasmBadLength }},
		{"past 65535", packet(Fields{NextHeader: inet.ProtoFragment, Src: peerAddr, Dst: ourAddr}, frag(inet.ProtoUDP, 65528, false, 1, seq(8))), icmpCall{4, 0, 42, nil}, func(s Stats) uint64 { return s.ReasmBadLength }},
		{"first without the TCP header", tcpFirst, icmpCall{4, 3, 0, nil}, func(s Stats) uint64 { return s.ReasmIncompleteChain }},
		{"first with the chain cut", chainCut, icmpCall{4, 3, 0, nil}, func(s Stats) uint64 { return s.ReasmIncompleteChain }},
		{"first without the UDP header", udpCut, icmpCall{4, 0, 4, nil}, func(s Stats) uint64 { return s.ReasmBadLength }},
		{"second Fragment header", packet(Fields{NextHeader: inet.ProtoFragment, Src: peerAddr, Dst: ourAddr}, frag(inet.ProtoFragment, 0, false, 1, frag(inet.ProtoUDP, 0, false, 2, d))), icmpCall{}, func(s Stats) uint64 { return s.DropNestedFragment }},
		{"truncated Fragment header", packet(Fields{NextHeader: inet.ProtoFragment, Src: peerAddr, Dst: ourAddr}, []byte{17, 0, 0}), icmpCall{}, func(s Stats) uint64 { return s.DropTruncated }},
	}
	for _, c := range cases {
		e := newEnv(t, Config{})
		e.input(peerMAC, ourMAC, c.p)
		if len(e.udp.got)+len(e.tcp.got) != 0 {
			t.Errorf("%s: delivered", c.name)
		}
		if c.pp.typ == 0 && len(e.icmp.calls) != 0 || c.pp.typ != 0 && (len(e.icmp.calls) != 1 || e.icmp.calls[0].code != c.pp.code || e.icmp.calls[0].ptr != c.pp.ptr) {
			t.Errorf("%s: ICMPv6 %+v, want code %d pointer %d", c.name, e.icmp.calls, c.pp.code, c.pp.ptr)
		}
		if c.counter(e.l.StatsLocked()) != 1 || e.l.StatsLocked().ReasmPending != 0 {
			t.Errorf("%s: stats %+v", c.name, e.l.StatsLocked())
		}
	}
	// In a link-layer multicast frame: no error.
	e := newEnv(t, Config{})
	e.input(peerMAC, mcastMAC, fragPkt(1, d, 0, 100, true))
	if len(e.icmp.calls) != 0 || e.l.StatsLocked().ReasmBadLength != 1 {
		t.Errorf("multicast frame: %+v", e.icmp.calls)
	}
}

// TestOverlaps: any overlap drops the packet, and its later fragments
// (RFC 5722 §4); no error is sent.
func TestOverlaps(t *testing.T) {
	d := udpWhole(200) // 208 bytes
	cases := []struct {
		name  string
		frags [][]byte
	}{
		{"overlap at the start", [][]byte{fragPkt(1, d, 0, 96, true), fragPkt(1, d, 88, len(d), false)}},
		{"overlap inside", [][]byte{fragPkt(2, d, 0, 96, true), fragPkt(2, d, 16, 32, true), fragPkt(2, d, 96, len(d), false)}},
		{"same offset, other data", [][]byte{fragPkt(3, d, 0, 48, true), packet(Fields{NextHeader: inet.ProtoFragment, Src: peerAddr, Dst: ourAddr}, frag(inet.ProtoUDP, 0, true, 3, make([]byte, 48))), fragPkt(3, d, 48, len(d), false)}},
		{"two last fragments", [][]byte{fragPkt(4, d, 96, len(d), false), fragPkt(4, d, 48, 96, false), fragPkt(4, d, 0, 48, true)}},
		{"beyond the last", [][]byte{fragPkt(5, d, 96, len(d), false), fragPkt(5, udpWhole(300), 200, 248, true), fragPkt(5, d, 0, 96, true)}},
	}
	for _, c := range cases {
		e := newEnv(t, Config{})
		for _, f := range c.frags {
			e.input(peerMAC, ourMAC, f)
		}
		if len(e.udp.got) != 0 || len(e.icmp.calls) != 0 {
			t.Errorf("%s: delivered %d, errors %d", c.name, len(e.udp.got), len(e.icmp.calls))
		}
		if s := e.l.StatsLocked(); s.ReasmMemory != 0 || s.ReasmOverlaps+s.ReasmInconsistent != 1 || s.ReasmPending != 1 {
			t.Errorf("%s: stats %+v", c.name, s)
		}
	}
	// The rest of an overlapped packet is dropped until its timeout, then
	// the ID may be used again.
	e := newEnv(t, Config{})
	e.input(peerMAC, ourMAC, fragPkt(7, d, 0, 96, true))
	e.input(peerMAC, ourMAC, fragPkt(7, d, 48, 96, true))
	e.input(peerMAC, ourMAC, fragPkt(7, d, 0, 96, true))
	e.input(peerMAC, ourMAC, fragPkt(7, d, 96, len(d), false))
	if s := e.l.StatsLocked(); len(e.udp.got) != 0 || s.ReasmOverlaps != 1 || s.ReasmDeadFragments != 2 || s.ReasmPending != 1 || s.ReasmMemory != 0 {
		t.Fatalf("after the overlap: %+v", s)
	}
	e.clk.Advance(61 * time.Second)
	if len(e.icmp.calls) != 0 || e.l.StatsLocked().ReasmPending != 0 {
		t.Errorf("overlapped packet's timeout: %+v", e.icmp.calls)
	}
	e.input(peerMAC, ourMAC, fragPkt(7, d, 0, 96, true))
	e.input(peerMAC, ourMAC, fragPkt(7, d, 96, len(d), false))
	if len(e.udp.got) != 1 {
		t.Errorf("ID 7 after the timeout: %+v", e.l.StatsLocked())
	}
}

func TestReassemblyTimeout(t *testing.T) {
	e := newEnv(t, Config{})
	d := udpWhole(200)
	first := fragPkt(1, d, 0, 96, true)
	e.input(peerMAC, ourMAC, first)
	e.clk.Advance(59 * time.Second)
	if len(e.icmp.calls) != 0 {
		t.Fatal("expired early")
	}
	e.input(peerMAC, ourMAC, fragPkt(1, d, 96, 104, true)) // later fragments do not extend it
	e.clk.Advance(1 * time.Second)
	if len(e.icmp.calls) != 1 || e.icmp.calls[0].typ != 3 || e.icmp.calls[0].code != 1 || !bytes.Equal(e.icmp.calls[0].off, first) {
		t.Fatalf("time exceeded: %+v", e.icmp.calls)
	}
	if s := e.l.StatsLocked(); s.ReasmTimeouts != 1 || s.ReasmPending != 0 || s.ReasmMemory != 0 {
		t.Errorf("stats %+v", s)
	}
	// Without the first fragment, or with it in a multicast frame: no
	// error.
	e.input(peerMAC, ourMAC, fragPkt(2, d, 96, len(d), false))
	e.input(peerMAC, mcastMAC, fragPkt(3, d, 0, 96, true))
	e.clk.Advance(61 * time.Second)
	if len(e.icmp.calls) != 1 || e.l.StatsLocked().ReasmTimeouts != 3 {
		t.Errorf("errors %+v, stats %+v", e.icmp.calls, e.l.StatsLocked())
	}
}

func TestReassemblyLimits(t *testing.T) {
	// Per packet: 4 chunks of 2 KiB.
	e := newEnv(t, Config{ReasmPacketMemory: 8 << 10, ReasmMemory: 64 << 10})
	d := udpWhole(2000)
	for off := 0; off < 48*5; off += 48 {
		e.input(peerMAC, ourMAC, fragPkt(1, d, off, off+48, true))
	}
	if s := e.l.StatsLocked(); s.ReasmPacketCap != 1 || s.ReasmDeadFragments != 1 || s.ReasmMemory != 0 {
		t.Errorf("per-packet cap: %+v", s)
	}
	// In all: the oldest partial packet is evicted.
	e = newEnv(t, Config{ReasmMemory: 8 << 10})
	for id := range uint32(6) {
		e.input(peerMAC, ourMAC, fragPkt(id, d, 0, 48, true))
		e.input(peerMAC, ourMAC, fragPkt(id, d, 48, 96, true))
	}
	// Each partial packet holds three chunks (the first fragment's
	// headers, two of data): one fits.
	if s := e.l.StatsLocked(); s.ReasmMemory != 6<<10 || s.ReasmEvicted != 5 || s.ReasmPending != 1 {
		t.Errorf("global cap: %+v", s)
	}
	// Slots: the oldest is evicted.
	e = newEnv(t, Config{ReasmPackets: 3})
	for id := range uint32(5) {
		e.input(peerMAC, ourMAC, fragPkt(id, d, 0, 48, true))
	}
	if s := e.l.StatsLocked(); s.ReasmPending != 3 || s.ReasmEvicted != 2 {
		t.Errorf("slots: %+v", s)
	}
}

func TestReassemblyAllocs(t *testing.T) {
	e := newEnv(t, Config{})
	e.udp.noCopy = true
	d := udpWhole(3000)
	parts := [][]byte{fragPkt(1, d, 0, 1232, true), fragPkt(1, d, 1232, 2464, true), fragPkt(1, d, 2464, len(d), false)}
	run := func() {
		for _, p := range parts {
			e.input(peerMAC, ourMAC, p)
		}
	}
	run() // warm up: chunks, the assembly buffer, the interval list
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("reassembly allocates %v per packet", n)
	}
	if e.udp.count < 201 {
		t.Errorf("delivered %d", e.udp.count)
	}
}

// The whole packet takes the first fragment's unfragmentable part, even
// when the fragment completing it has another (RFC 8200 §4.5).
func TestReassemblyUnfragmentablePartOfTheFirst(t *testing.T) {
	e := newEnv(t, Config{})
	d := udpWhole(200)
	first := packet(Fields{NextHeader: inet.ProtoDestOpts, Src: peerAddr, Dst: ourAddr},
		cat(ext(inet.ProtoFragment, 0x1e, 2, 9, 9), frag(inet.ProtoUDP, 0, true, 77, d[:96])))
	last := fragPkt(77, d, 96, len(d), false) // no options header
	e.input(peerMAC, ourMAC, first)
	e.input(peerMAC, ourMAC, last)
	if len(e.udp.got) != 1 || !bytes.Equal(e.udp.got[0].payload, d) {
		t.Fatalf("not delivered intact: %+v", e.l.StatsLocked())
	}
	h := Header(e.udp.got[0].hdr)
	if h.NextHeader() != inet.ProtoDestOpts || h[HeaderLen] != inet.ProtoUDP || int(h.PayloadLen()) != 8+len(d) {
		t.Errorf("reassembled %x", e.udp.got[0].hdr[:56])
	}
	// The other way round: the first fragment without, then the last,
	// which completes the packet, with.
	e = newEnv(t, Config{})
	e.input(peerMAC, ourMAC, fragPkt(78, d, 0, 96, true))
	e.input(peerMAC, ourMAC, packet(Fields{NextHeader: inet.ProtoDestOpts, Src: peerAddr, Dst: ourAddr},
		cat(ext(inet.ProtoFragment, 0x1e, 2, 9, 9), frag(inet.ProtoUDP, 96, false, 78, d[96:]))))
	if len(e.udp.got) != 1 || !bytes.Equal(e.udp.got[0].payload, d) || Header(e.udp.got[0].hdr).NextHeader() != inet.ProtoUDP {
		t.Fatalf("first without options: %+v", e.l.StatsLocked())
	}
}
