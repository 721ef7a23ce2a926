package hostile

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/udp"
)

// Case 13: IPv6 (RFC 8200, RFC 4443): extension-header chains, options,
// the routing header type 0, fragments, Packet Too Big. Frames are built
// here byte by byte; what the victim sends back is read at fixed offsets.

const (
	ethIPv6 = 0x86dd
	nhHBH   = 0
	nhTCP   = 6
	nhUDP   = 17
	nhRH    = 43
	nhFrag  = 44
	nhICMP6 = 58
	nhNone  = 59
	nhDst   = 60
)

// v6 is a victim with IPv6 addresses (EUI-64 ones, link-local and
// fd00:6::/64) and a UDP socket on [::]:53; the peer is at the EUI-64
// address of peerMAC, which the victim resolves by Neighbor Discovery
// (the harness answers, autoNA).
type v6 struct {
	*victim
	ll, g, peer, peerLL inet.Addr
	c                   *udp.Conn
}

func newVictim6(t *testing.T, cfg stack.Config) *v6 {
	v := &v6{victim: newVictim(t, cfg)}
	v.ll, v.g = stacktest.Address6(t, v.s)
	v.dev.check.SetIPv6(v.ll, v.g)
	v.peer = stacktest.EUI64(inet.MustParseAddr(stacktest.GlobalPrefix6), peerMAC)
	v.peerLL = stacktest.EUI64(inet.MustParseAddr("fe80::"), peerMAC)
	// The peer's addresses are known to the victim, as after a
	// solicitation from each (RFC 4861 §7.2.3): no resolution delays its
	// first packets.
	for _, src := range []inet.Addr{v.peer, v.peerLL} {
		v.inject(nsFrame(peerMAC, src, snode(v.g), v.g, optLL(1, peerMAC)))
	}
	v.take()
	c, err := v.s.UDP().Bind(netip.MustParseAddrPort("[::]:53"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	v.c = c
	return v
}

// ip6 builds an IPv6 packet: next header nh, then payload.
func ip6(src, dst inet.Addr, nh uint8, payload []byte) []byte {
	b := make([]byte, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(payload)))
	b[6], b[7] = nh, 64
	s, d := src.As16(), dst.As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	copy(b[40:], payload)
	return b
}

func pseudo6(src, dst inet.Addr, proto uint8, n int) uint32 {
	s, d := src.As16(), dst.As16()
	sum := sum16(sum16(0, s[:]), d[:])
	return sum + uint32(n>>16) + uint32(n&0xffff) + uint32(proto)
}

// udp6 is a UDP datagram (header and data, checksum set) from port 5000
// to 53.
func udp6(src, dst inet.Addr, data []byte) []byte {
	b := make([]byte, 8+len(data))
	binary.BigEndian.PutUint16(b[0:], 5000)
	binary.BigEndian.PutUint16(b[2:], 53)
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)))
	copy(b[8:], data)
	binary.BigEndian.PutUint16(b[6:], cksum(sum16(pseudo6(src, dst, nhUDP, len(b)), b)))
	return b
}

// icmp6m is an ICMPv6 message with the checksum set.
func icmp6m(src, dst inet.Addr, typ, code uint8, rest uint32, body []byte) []byte {
	b := make([]byte, 8+len(body))
	b[0], b[1] = typ, code
	binary.BigEndian.PutUint32(b[4:], rest)
	copy(b[8:], body)
	binary.BigEndian.PutUint16(b[2:], cksum(sum16(pseudo6(src, dst, nhICMP6, len(b)), b)))
	return b
}

// opts6 is an options header (Hop-by-Hop or Destination) with the TLVs
// opts, padded with PadN or Pad1 to a multiple of 8.
func opts6(next uint8, opts ...byte) []byte {
	n := (2 + len(opts) + 7) &^ 7
	b := make([]byte, n)
	b[0], b[1] = next, byte(n/8-1)
	copy(b[2:], opts)
	if p := n - 2 - len(opts); p == 1 {
		b[n-1] = 0
	} else if p > 1 {
		b[2+len(opts)], b[3+len(opts)] = 1, byte(p-2)
	}
	return b
}

// fragh is a Fragment header then data.
func fragh(next uint8, off int, more bool, id uint32, data []byte) []byte {
	b := make([]byte, 8, 8+len(data))
	b[0] = next
	v := uint16(off)
	if more {
		v |= 1
	}
	binary.BigEndian.PutUint16(b[2:], v)
	binary.BigEndian.PutUint32(b[4:], id)
	return append(b, data...)
}

// in6 injects a packet from the peer (in a frame to the victim's MAC,
// or to 33:33:.. for a multicast destination).
func (v *v6) in6(p []byte) {
	dst := victimMAC
	if p[24] == 0xff {
		dst = inet.MAC{0x33, 0x33, p[36], p[37], p[38], p[39]}
	}
	f := eth(dst, peerMAC, ethIPv6, p)
	noPanic(v.t, "an IPv6 frame", f, func() { v.inject(f) })
}

// out6 is one IPv6 packet the victim sent, read at fixed offsets.
type out6 struct {
	src, dst  inet.Addr
	nh        uint8
	icmpType  uint8
	icmpCode  uint8
	rest      uint32
	payload   []byte
	frameSize int
}

// sent6 returns the IPv6 packets sent so far but ND and MLD messages
// (and forgets every frame).
func (v *v6) sent6() []out6 {
	var out []out6
	for _, f := range v.take() {
		if len(f) < 54 || binary.BigEndian.Uint16(f[12:]) != ethIPv6 {
			continue
		}
		p := f[14:]
		o := out6{src: inet.AddrFrom16([16]byte(p[8:24])), dst: inet.AddrFrom16([16]byte(p[24:40])), nh: p[6], payload: p[40:], frameSize: len(f)}
		if o.nh == nhICMP6 && len(o.payload) >= 8 {
			o.icmpType, o.icmpCode, o.rest = o.payload[0], o.payload[1], binary.BigEndian.Uint32(o.payload[4:])
		}
		if o.nh == nhHBH || o.nh == nhICMP6 && o.icmpType >= 130 && o.icmpType <= 143 {
			continue // Neighbor Discovery and MLD (nd_test.go)
		}
		out = append(out, o)
	}
	return out
}

// errors6 counts the ICMPv6 errors (types 1-4) in out.
func errors6(out []out6) int {
	n := 0
	for _, o := range out {
		if o.nh == nhICMP6 && o.icmpType >= 1 && o.icmpType <= 4 {
			n++
		}
	}
	return n
}

// alive6 checks the victim still answers an ICMPv6 echo request from the
// peer.
func (v *v6) alive6() {
	v.t.Helper()
	data := []byte("still alive over IPv6")
	v.in6(ip6(v.peer, v.g, nhICMP6, icmp6m(v.peer, v.g, 128, 0, 0x00420001, data)))
	for _, o := range v.sent6() {
		if o.nh == nhICMP6 && o.icmpType == 129 && o.dst == v.peer && bytes.Equal(o.payload[8:], data) {
			return
		}
	}
	v.t.Fatalf("no echo reply over IPv6 (stats %+v)", v.stats().IPv6)
}

// delivered reports whether a datagram waits on the socket, and reads it.
func (v *v6) delivered() (string, bool) {
	// UDP deadlines run on the stack's (virtual) clock: one already past
	// returns what is queued, or times out at once.
	v.c.SetReadDeadline(v.clk.Now().Add(-time.Second))
	b := make([]byte, 70000)
	n, _, err := v.c.ReadFrom(b)
	if err != nil {
		return "", false
	}
	return string(b[:n]), true
}

func TestIPv6ExtensionHeaderChains(t *testing.T) {
	v := newVictim6(t, stack.Config{})
	data := []byte("through the chain")
	many := func(n int) []byte {
		var b []byte
		for range n - 1 {
			b = append(b, opts6(nhDst)...)
		}
		return append(b, opts6(nhUDP)...)
	}
	big := func(next uint8) []byte { // a 256-byte header of one option
		return opts6(next, append([]byte{0x1e, 250}, make([]byte, 250)...)...)
	}
	skippable := func(n int) []byte { // n unknown skippable options of 2 bytes
		var o []byte
		for range n {
			o = append(o, 0x1e, 0)
		}
		return o
	}
	cases := []struct {
		name  string
		nh    uint8
		chain []byte
		mcast bool
		ok    bool
		err   [3]int // ICMPv6 error expected: type, code, pointer (type 0: none)
	}{
		{"8 headers", nhDst, many(8), false, true, [3]int{}},
		{"9 headers", nhDst, many(9), false, false, [3]int{}},
		{"180 headers", nhDst, many(180), false, false, [3]int{}},
		{"chain of 1024 bytes", nhDst, cat(big(nhDst), big(nhDst), big(nhDst), big(nhUDP)), false, true, [3]int{}},
		{"chain of 1032 bytes", nhDst, cat(big(nhDst), big(nhDst), big(nhDst), big(nhDst), opts6(nhUDP)), false, false, [3]int{}},
		{"8 bytes of padding in a row", nhDst, opts6(nhUDP, 1, 6, 0, 0, 0, 0, 0, 0, 0, 0x1e, 0), false, false, [3]int{}},
		{"PadN with data", nhDst, opts6(nhUDP, 1, 2, 0xde, 0xad), false, false, [3]int{}},
		{"9 unknown skippable options", nhDst, opts6(nhUDP, skippable(9)...), false, false, [3]int{}},
		{"8 unknown skippable options", nhDst, opts6(nhUDP, skippable(8)...), false, true, [3]int{}},
		{"hop-by-hop after destination options", nhDst, cat(opts6(nhHBH), opts6(nhUDP)), false, false, [3]int{4, 1, 40}},
		{"two hop-by-hop headers", nhHBH, cat(opts6(nhHBH), opts6(nhUDP)), false, false, [3]int{4, 1, 40}},
		{"option 01: discard", nhDst, opts6(nhUDP, 0x7f, 0), false, false, [3]int{}},
		{"option 10: parameter problem", nhDst, opts6(nhUDP, 0xbf, 0), false, false, [3]int{4, 2, 42}},
		{"option 10 to all-nodes: parameter problem", nhDst, opts6(nhUDP, 0xbf, 0), true, false, [3]int{4, 2, 42}},
		{"option 11 to all-nodes: silent", nhDst, opts6(nhUDP, 0xff, 0), true, false, [3]int{}},
		{"jumbo payload", nhHBH, opts6(nhUDP, 0xc2, 4, 0, 1, 0, 0), false, false, [3]int{4, 2, 42}},
		{"option past its header", nhDst, []byte{nhUDP, 0, 0x1e, 9, 0, 0, 0, 0}, false, false, [3]int{}},
		{"header past the packet", nhDst, []byte{nhUDP, 4, 0, 0, 0, 0, 0, 0}, false, false, [3]int{}},
		{"AH", 51, nil, false, false, [3]int{4, 1, 6}},
		{"unknown next header to all-nodes", 200, nil, true, false, [3]int{}},
	}
	for _, c := range cases {
		dst := v.g
		if c.mcast {
			dst = inet.IPv6AllNodes
		}
		body := udp6(v.peer, dst, data)
		p := ip6(v.peer, dst, c.nh, cat(c.chain, body))
		v.in6(p)
		got, ok := v.delivered()
		if ok != c.ok || ok && got != string(data) {
			t.Errorf("%s: delivered %v %q, want %v (stats %+v)", c.name, ok, got, c.ok, v.stats().IPv6)
		}
		out := v.sent6()
		switch {
		case c.err[0] == 0 && errors6(out) != 0:
			t.Errorf("%s: an ICMPv6 error was sent: %+v", c.name, out)
		case c.err[0] != 0 && (len(out) != 1 || int(out[0].icmpType) != c.err[0] || int(out[0].icmpCode) != c.err[1] ||
			int(out[0].rest) != c.err[2] || out[0].dst != v.peer || out[0].src != v.g):
			t.Errorf("%s: sent %+v, want one error %v", c.name, out, c.err)
		}
	}
	st := v.stats().IPv6
	if st.DropChainTooLong < 3 || st.DropPadding != 2 || st.DropTooManyOptions != 1 || st.DropHopByHop != 2 || st.DropUnknownOption < 4 {
		t.Errorf("counters %+v", st)
	}
	v.alive6()
}

// TestIPv6ErrorFlood: a flood of packets each asking for a Parameter
// Problem gets errors at the rate limit only.
func TestIPv6ErrorFlood(t *testing.T) {
	v := newVictim6(t, stack.Config{})
	v.dev.record = false
	for i := range 10000 {
		v.in6(ip6(v.peer, v.g, 99, []byte{byte(i), byte(i >> 8), 0, 0, 0, 0, 0, 0}))
		if i%100 == 0 {
			v.clk.Advance(10 * time.Millisecond) // 1 s in all
		}
	}
	v.dev.record = true
	st := v.stats()
	if sent := st.ICMPv6.ErrorsOut[4]; sent > 10+10+1 || sent == 0 || st.ICMPv6.RateLimited+sent != 10000 {
		t.Errorf("%d parameter problems for 10000 packets in 1 s (rate 10/s, burst 10): %+v", sent, st.ICMPv6)
	}
	v.advance(2 * time.Second)
	v.alive6()
}

func TestIPv6RoutingHeaderType0(t *testing.T) {
	v := newVictim6(t, stack.Config{})
	data := []byte("source routed")
	// RH0 with one address (a third host) and segments left: never
	// followed; a Parameter Problem points at the routing type.
	third := inet.MustParseAddr("fd00:6::3").As16()
	rh0 := func(left uint8) []byte {
		return cat([]byte{nhUDP, 2, 0, left, 0, 0, 0, 0}, third[:])
	}
	for _, left := range []uint8{1, 2, 255} {
		v.in6(ip6(v.peer, v.g, nhRH, cat(rh0(left), udp6(v.peer, v.g, data))))
		if _, ok := v.delivered(); ok {
			t.Errorf("segments left %d: delivered", left)
		}
		out := v.sent6()
		if len(out) != 1 || out[0].icmpType != 4 || out[0].icmpCode != 0 || out[0].rest != 42 || out[0].dst != v.peer {
			t.Errorf("segments left %d: sent %+v, want a parameter problem at 42", left, out)
		}
	}
	// Segments left 0: the header is skipped (RFC 8200 §4.4).
	v.in6(ip6(v.peer, v.g, nhRH, cat(rh0(0), udp6(v.peer, v.g, data))))
	if got, ok := v.delivered(); !ok || got != string(data) {
		t.Errorf("segments left 0: %v %q", ok, got)
	}
	// To all-nodes: silent.
	v.in6(ip6(v.peer, inet.IPv6AllNodes, nhRH, cat(rh0(1), udp6(v.peer, inet.IPv6AllNodes, data))))
	if out := v.sent6(); len(out) != 0 {
		t.Errorf("RH0 to all-nodes answered: %+v", out)
	}
	if st := v.stats().IPv6; st.DropRH0 != 4 {
		t.Errorf("DropRH0 %d", st.DropRH0)
	}
	v.alive6()
}

func TestIPv6FragmentsHostile(t *testing.T) {
	v := newVictim6(t, stack.Config{})
	d := udp6(v.peer, v.g, make([]byte, 200)) // 208 bytes
	fr := func(id uint32, off, end int, more bool) []byte {
		return ip6(v.peer, v.g, nhFrag, fragh(nhUDP, off, more, id, d[off:end]))
	}
	frd := func(id uint32, off int, more bool, data []byte) []byte {
		return ip6(v.peer, v.g, nhFrag, fragh(nhUDP, off, more, id, data))
	}
	cases := []struct {
		name  string
		frags [][]byte
		ok    bool
		err   [3]int
	}{
		{"in order", [][]byte{fr(1, 0, 96, true), fr(1, 96, len(d), false)}, true, [3]int{}},
		{"out of order, duplicated", [][]byte{fr(2, 96, len(d), false), fr(2, 96, len(d), false), fr(2, 0, 96, true)}, true, [3]int{}},
		{"overlap (teardrop)", [][]byte{fr(3, 0, 96, true), fr(3, 88, len(d), false)}, false, [3]int{}},
		{"overlap inside", [][]byte{fr(4, 0, 96, true), fr(4, 16, 32, true), fr(4, 96, len(d), false)}, false, [3]int{}},
		{"same offset, other data", [][]byte{fr(5, 0, 96, true), frd(5, 0, true, make([]byte, 96)), fr(5, 96, len(d), false)}, false, [3]int{}},
		{"rest after an overlap", [][]byte{fr(6, 0, 48, true), fr(6, 40, 96, true), fr(6, 48, 96, true), fr(6, 96, len(d), false)}, false, [3]int{}},
		{"two last fragments", [][]byte{fr(7, 96, len(d), false), fr(7, 48, 96, false), fr(7, 0, 48, true)}, false, [3]int{}},
		{"non-last not a multiple of 8", [][]byte{fr(8, 0, 100, true)}, false, [3]int{4, 0, 4}},
		{"non-last of 0 bytes", [][]byte{frd(9, 8, true, nil)}, false, [3]int{4, 0, 4}},
		{"past 65535 (ping of death)", [][]byte{fr(10, 0, 96, true), frd(10, 65528, false, d[:16])}, false, [3]int{4, 0, 42}},
		{"first without the UDP header", [][]byte{ip6(v.peer, v.g, nhFrag, fragh(nhDst, 0, true, 11, opts6(nhUDP)))}, false, [3]int{4, 3, 0}},
		{"atomic fragment", [][]byte{fr(12, 0, len(d), false)}, true, [3]int{}},
	}
	for _, c := range cases {
		for _, f := range c.frags {
			v.in6(f)
		}
		got, ok := v.delivered()
		if ok != c.ok || ok && got != string(make([]byte, 200)) {
			t.Errorf("%s: delivered %v (%d bytes), want %v (stats %+v)", c.name, ok, len(got), c.ok, v.stats().IPv6)
		}
		out := v.sent6()
		switch {
		case c.err[0] == 0 && len(out) != 0:
			t.Errorf("%s: sent %+v", c.name, out)
		case c.err[0] != 0 && (len(out) != 1 || int(out[0].icmpType) != c.err[0] || int(out[0].icmpCode) != c.err[1] || int(out[0].rest) != c.err[2]):
			t.Errorf("%s: sent %+v, want one error %v", c.name, out, c.err)
		}
	}
	// A TCP SYN split after 8 bytes (RFC 7112: the first fragment must
	// hold the whole TCP header): no SYN-ACK, a parameter problem.
	ln := v.listen(80)
	defer ln.Close()
	syn := make([]byte, 20)
	binary.BigEndian.PutUint16(syn[0:], 40000)
	binary.BigEndian.PutUint16(syn[2:], 80)
	syn[12], syn[13] = 5<<4, fSYN
	binary.BigEndian.PutUint16(syn[14:], 65535)
	binary.BigEndian.PutUint16(syn[16:], cksum(sum16(pseudo6(v.peer, v.g, nhTCP, 20), syn)))
	v.in6(ip6(v.peer, v.g, nhFrag, fragh(nhTCP, 0, true, 13, syn[:8])))
	v.in6(ip6(v.peer, v.g, nhFrag, fragh(nhTCP, 8, false, 13, syn[8:])))
	if out := v.sent6(); len(out) != 1 || out[0].icmpType != 4 || out[0].icmpCode != 3 {
		t.Errorf("tiny first TCP fragment: sent %+v", out)
	}
	// 61 s later nothing is held; the overlapped IDs take fragments again.
	v.advance(61 * time.Second)
	st := v.stats().IPv6
	if st.ReasmPending != 0 || st.ReasmMemory != 0 || st.ReasmOverlaps != 4 || st.ReasmDeadFragments < 2 {
		t.Errorf("after the timeout: %+v", st)
	}
	v.take()
	v.in6(fr(3, 0, 96, true))
	v.in6(fr(3, 96, len(d), false))
	if _, ok := v.delivered(); !ok {
		t.Error("ID 3 after its timeout: not delivered")
	}
	v.alive6()
}

// TestIPv6FragmentsManyIncomplete: 10^4 incomplete packets from random
// sources: the memory and packet caps hold throughout, state expires,
// time-exceeded errors stay within the rate limit, and a whole packet
// still gets through.
func TestIPv6FragmentsManyIncomplete(t *testing.T) {
	v := newVictim6(t, stack.Config{})
	v.dev.record = false
	rng := rand.New(rand.NewPCG(6, 6))
	chunk := make([]byte, 1232)
	for i := range 10000 {
		src := stacktest.EUI64(inet.MustParseAddr(stacktest.GlobalPrefix6), inet.MAC{2, 0, 0, 0, byte(rng.IntN(8)), byte(2 + rng.IntN(250))})
		off := rng.IntN(40) * 1232
		v.in6(ip6(src, v.g, nhFrag, fragh(nhUDP, off, true, uint32(i), chunk)))
		if i%500 == 0 {
			st := v.stats().IPv6
			if st.ReasmMemory > 256<<10 || st.ReasmPending > 64 {
				t.Fatalf("after %d: %d bytes in %d packets", i, st.ReasmMemory, st.ReasmPending)
			}
		}
		if i%100 == 0 {
			v.clk.Advance(10 * time.Millisecond)
		}
	}
	v.dev.record = true
	v.advance(61 * time.Second)
	st := v.stats()
	if st.IPv6.ReasmPending != 0 || st.IPv6.ReasmMemory != 0 || st.IPv6.ReasmEvicted == 0 {
		t.Errorf("after the timeout: %+v", st.IPv6)
	}
	if te := st.ICMPv6.ErrorsOut[3]; te > 100 {
		t.Errorf("%d time-exceeded messages", te)
	}
	v.take()
	d := udp6(v.peer, v.g, []byte("still reassembling"))
	v.in6(ip6(v.peer, v.g, nhFrag, fragh(nhUDP, 0, true, 99999, d[:16])))
	v.in6(ip6(v.peer, v.g, nhFrag, fragh(nhUDP, 16, false, 99999, d[16:])))
	if got, ok := v.delivered(); !ok || got != "still reassembling" {
		t.Fatalf("after the flood: %v %q", ok, got)
	}
	v.alive6()
}

// TestIPv6PacketTooBig: PTB with an MTU under 1280 (RFC 8201 §4) changes
// nothing; one of 1280 about a packet we sent lowers the path MTU, and a
// larger datagram then leaves in fragments of at most 1280 bytes; PTBs
// quoting another host's packet, or raising the MTU, are ignored; a flood
// of PTBs for many destinations keeps the cache bounded.
func TestIPv6PacketTooBig(t *testing.T) {
	v := newVictim6(t, stack.Config{})
	data := make([]byte, 1400)
	send := func() []out6 {
		c, err := v.s.UDP().Dial(v.peer.AddrPort(9))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(data); err != nil {
			t.Fatal(err)
		}
		return v.sent6()
	}
	largest := func(out []out6) (n int) {
		for _, o := range out {
			n = max(n, o.frameSize-14)
		}
		return
	}
	if out := send(); len(out) != 1 || largest(out) != 40+8+1400 {
		t.Fatalf("before: %d packets, largest %d", len(out), largest(out))
	}
	ours := ip6(v.g, v.peer, nhUDP, udp6(v.g, v.peer, data))[:1232]
	ptb := func(mtu uint32, quoted []byte) []byte {
		return ip6(v.peerLL, v.g, nhICMP6, icmp6m(v.peerLL, v.g, 2, 0, mtu, quoted))
	}
	for _, mtu := range []uint32{0, 1, 68, 576, 1279} {
		v.in6(ptb(mtu, ours))
	}
	if st := v.stats().ICMPv6; st.DropPTBTooSmall != 5 {
		t.Errorf("PTB under 1280: %+v", st)
	}
	if out := send(); len(out) != 1 {
		t.Errorf("after PTBs under 1280: %d packets", len(out))
	}
	notOurs := ip6(v.peer, v.g, nhUDP, udp6(v.peer, v.g, data))[:1232]
	v.in6(ptb(1280, notOurs))
	if out := send(); len(out) != 1 {
		t.Errorf("after a PTB about another host's packet: %d packets", len(out))
	}
	v.in6(ptb(1280, ours))
	v.in6(ptb(9000, ours))
	v.in6(ptb(0xffffffff, ours))
	if out := send(); len(out) != 2 || largest(out) > 1280 {
		t.Errorf("after PTB 1280: %d packets, largest %d", len(out), largest(out))
	}
	// 1000 destinations.
	for i := range 1000 {
		q := bytes.Clone(ours)
		q[39] = byte(i)
		q[38] = byte(i >> 8)
		v.in6(ptb(1300, q))
	}
	if st := v.stats().IPv6; st.PMTUEntries > 64 {
		t.Errorf("path MTU cache of %d entries", st.PMTUEntries)
	}
	v.take()
	v.alive6()
}
