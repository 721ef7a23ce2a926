package ipv6

import (
	"bytes"
	"testing"

	"github.com/mirago/mirago/stack/inet"
)

func TestInputDelivers(t *testing.T) {
	e := newEnv(t, Config{})
	p := udpFrom(peerAddr, ourAddr, "hello")
	e.input(peerMAC, ourMAC, append(p, 0, 0)) // Ethernet padding is trimmed
	if len(e.udp.got) != 1 {
		t.Fatalf("not delivered: %+v", e.l.StatsLocked())
	}
	g := e.udp.got[0]
	if g.p.Src != peerAddr || g.p.Dst != ourAddr || !bytes.Equal(g.payload, udpBody("hello")) || !bytes.Equal(g.hdr, p) ||
		g.p.Broadcast || g.p.TTL != 64 || g.p.Fragmented {
		t.Errorf("delivered %+v", g)
	}
	// To the link-local address, and to ff02::1 in a multicast frame.
	e.input(peerMAC, ourMAC, udpFrom(peerLL, ourLL, "ll"))
	e.input(peerMAC, mcastMAC, udpFrom(peerLL, inet.IPv6AllNodes, "all"))
	if len(e.udp.got) != 3 || e.udp.got[1].p.Broadcast || !e.udp.got[2].p.Broadcast {
		t.Errorf("link-local / all-nodes: %d delivered", len(e.udp.got))
	}
	if s := e.l.StatsLocked(); s.Received != 3 || s.Delivered != 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestInputAddressChecks(t *testing.T) {
	tentative := inet.MustParseAddr("2001:db8::99")
	group := inet.MustParseAddr("ff02::1:ff00:99")
	cases := []struct {
		name     string
		src, dst inet.Addr
		proto    uint8
		ok       bool
		counter  func(Stats) uint64
	}{
		{"multicast source", inet.MustParseAddr("ff02::2"), ourAddr, inet.ProtoUDP, false, func(s Stats) uint64 { return s.DropSource }},
		{"loopback source", inet.IPv6Loopback, ourAddr, inet.ProtoUDP, false, func(s Stats) uint64 { return s.DropSource }},
		{"IPv4-mapped source", inet.MustParseAddr("::ffff:10.0.0.1"), ourAddr, inet.ProtoUDP, false, func(s Stats) uint64 { return s.DropSource }},
		{"our own source, UDP", ourAddr, ourAddr, inet.ProtoUDP, false, func(s Stats) uint64 { return s.DropSource }},
		{"unspecified source, UDP", inet.IPv6Unspecified, ourAddr, inet.ProtoUDP, false, func(s Stats) uint64 { return s.DropSource }},
		{"unspecified source, ICMPv6", inet.IPv6Unspecified, group, inet.ProtoICMPv6, true, nil},
		{"our own source, ICMPv6", ourAddr, inet.IPv6AllNodes, inet.ProtoICMPv6, true, nil},
		{"to another host", peerAddr, farAddr, inet.ProtoUDP, false, func(s Stats) uint64 { return s.DropNotForUs }},
		{"to a tentative address", peerAddr, tentative, inet.ProtoUDP, false, func(s Stats) uint64 { return s.DropNotForUs }},
		{"to a group not joined", peerAddr, inet.MustParseAddr("ff02::fb"), inet.ProtoUDP, false, func(s Stats) uint64 { return s.DropNotForUs }},
		{"to a joined group", peerAddr, group, inet.ProtoUDP, true, nil},
		{"to interface-local all-nodes", peerAddr, inet.MustParseAddr("ff01::1"), inet.ProtoUDP, false, func(s Stats) uint64 { return s.DropNotForUs }},
		{"to scope 0", peerAddr, inet.MustParseAddr("ff00::1"), inet.ProtoUDP, false, func(s Stats) uint64 { return s.DropNotForUs }},
		{"to ::1", peerAddr, inet.IPv6Loopback, inet.ProtoUDP, false, func(s Stats) uint64 { return s.DropNotForUs }},
		{"to ::", peerAddr, inet.IPv6Unspecified, inet.ProtoUDP, false, func(s Stats) uint64 { return s.DropNotForUs }},
		{"to IPv4-mapped", peerAddr, inet.MustParseAddr("::ffff:10.0.0.1"), inet.ProtoUDP, false, func(s Stats) uint64 { return s.DropNotForUs }},
	}
	for _, c := range cases {
		e := newEnv(t, Config{})
		must(t, e.l.AddAddrLocked(inet.Prefix6{Addr: tentative, Bits: 64}, StateTentative))
		must(t, e.l.JoinGroupLocked(group))
		e.input(peerMAC, ourMAC, packet(Fields{NextHeader: c.proto, Src: c.src, Dst: c.dst}, udpBody("x")))
		got := len(e.udp.got) + len(e.ic6.got)
		if (got == 1) != c.ok {
			t.Errorf("%s: delivered %d, want %v (%+v)", c.name, got, c.ok, e.l.StatsLocked())
		}
		if c.counter != nil && c.counter(e.l.StatsLocked()) != 1 {
			t.Errorf("%s: not counted: %+v", c.name, e.l.StatsLocked())
		}
		if len(e.icmp.calls) != 0 {
			t.Errorf("%s: ICMPv6 error asked for", c.name)
		}
	}
}

func TestInputMalformed(t *testing.T) {
	e := newEnv(t, Config{})
	good := udpFrom(peerAddr, ourAddr, "x")
	bad := bytes.Clone(good)
	bad[0] = 0x40
	e.input(peerMAC, ourMAC, good[:39])
	e.input(peerMAC, ourMAC, bad)
	e.input(peerMAC, ourMAC, good[:len(good)-1])
	s := e.l.StatsLocked()
	if s.DropShort != 1 || s.DropVersion != 1 || s.DropLength != 1 || len(e.udp.got) != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestExtensionHeaders walks chains of extension headers: what is
// delivered, what is dropped and counted, which Parameter Problem is
// asked for with which pointer.
func TestExtensionHeaders(t *testing.T) {
	const (
		hbh  = inet.ProtoHopByHop
		dst  = inet.ProtoDestOpts
		rt   = inet.ProtoRouting
		udp  = inet.ProtoUDP
		none = inet.ProtoNoNext
	)
	body := udpBody("data")
	rh := func(next, typ, left uint8) []byte {
		f := RoutingFields{NextHeader: next, RoutingType: typ, SegmentsLeft: left, Data: make([]byte, 20)}
		b := make([]byte, 24)
		f.Encode(b)
		return b
	}
	ppNone := icmpCall{}
	cases := []struct {
		name    string
		first   uint8
		chain   []byte
		mcast   bool // to ff02::1 (in a multicast frame)
		ok      bool
		pp      icmpCall // type 4 asked for (code, ptr); zero: none
		counter func(Stats) uint64
	}{
		{"hop-by-hop, router alert", hbh, cat(ext(udp, OptRouterAlert, 2, 0, 0), body), false, true, ppNone, nil},
		{"destination options, padding", dst, cat(ext(udp, OptPad1, OptPadN, 1, 0), body), false, true, ppNone, nil},
		{"hop-by-hop then destination", hbh, cat(ext(dst), ext(udp), body), false, true, ppNone, nil},
		{"hop-by-hop second", dst, cat(ext(hbh), ext(udp), body), false, false, icmpCall{4, 1, 40, nil}, func(s Stats) uint64 { return s.DropHopByHop }},
		{"unknown option 00: skipped", dst, cat(ext(udp, 0x1e, 2, 0, 0), body), false, true, ppNone, func(s Stats) uint64 { return s.SkippedOptions }},
		{"unknown option 01: dropped", dst, cat(ext(udp, 0x5e, 2, 0, 0), body), false, false, ppNone, func(s Stats) uint64 { return s.DropUnknownOption }},
		{"unknown option 10: problem", dst, cat(ext(udp, OptPad1, 0x9e, 2, 0, 0), body), false, false, icmpCall{4, 2, 43, nil}, func(s Stats) uint64 { return s.DropUnknownOption }},
		{"unknown option 10 to multicast: problem", dst, cat(ext(udp, 0x9e, 2, 0, 0), body), true, false, icmpCall{4, 2, 42, nil}, func(s Stats) uint64 { return s.DropUnknownOption }},
		{"unknown option 11: problem", dst, cat(ext(udp, 0xde, 2, 0, 0), body), false, false, icmpCall{4, 2, 42, nil}, func(s Stats) uint64 { return s.DropUnknownOption }},
		{"unknown option 11 to multicast: silent", dst, cat(ext(udp, 0xde, 2, 0, 0), body), true, false, ppNone, func(s Stats) uint64 { return s.DropUnknownOption }},
		{"jumbo payload: not supported", hbh, cat(ext(udp, OptJumbo, 4, 0, 1, 0, 0), body), false, false, icmpCall{4, 2, 42, nil}, func(s Stats) uint64 { return s.DropUnknownOption }},
		{"router alert in destination options", dst, cat(ext(udp, OptRouterAlert, 2, 0, 0), body), false, true, ppNone, nil},
		{"8 bytes of padding", dst, cat(ext(udp, OptPadN, 6, 0, 0, 0, 0, 0, 0, OptPad1, 0x1e, 0), body), false, false, ppNone, func(s Stats) uint64 { return s.DropPadding }},
		{"PadN not zero", dst, cat(ext(udp, OptPadN, 2, 0, 1), body), false, false, ppNone, func(s Stats) uint64 { return s.DropPadding }},
		{"9 options", dst, cat(ext(udp, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0), body), false, false, ppNone, func(s Stats) uint64 { return s.DropTooManyOptions }},
		{"8 options", dst, cat(ext(udp, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0), body), false, true, ppNone, nil},
		{"option past the header", dst, cat([]byte{udp, 0, 0x1e, 5, 0, 0, 0, 0}, body), false, false, ppNone, func(s Stats) uint64 { return s.DropBadOption }},
		{"header past the end", dst, []byte{udp, 1, 0, 0, 0, 0, 0, 0}, false, false, ppNone, func(s Stats) uint64 { return s.DropTruncated }},
		{"RH0, segments left 1", rt, cat(rh(udp, 0, 1), body), false, false, icmpCall{4, 0, 42, nil}, func(s Stats) uint64 { return s.DropRH0 }},
		{"RH0, segments left 0: ignored", rt, cat(rh(udp, 0, 0), body), false, true, ppNone, nil},
		{"RH0 to multicast: silent", rt, cat(rh(udp, 0, 1), body), true, false, ppNone, func(s Stats) uint64 { return s.DropRH0 }},
		{"SRH (type 4), segments left 2", rt, cat(rh(udp, 4, 2), body), false, false, icmpCall{4, 0, 42, nil}, func(s Stats) uint64 { return s.DropRouting }},
		{"type 2, segments left 0", rt, cat(rh(udp, 2, 0), body), false, true, ppNone, nil},
		{"no next header", dst, ext(none), false, false, ppNone, func(s Stats) uint64 { return s.NoNextHeader }},
		{"unknown next header after options", dst, cat(ext(99), body), false, false, icmpCall{4, 1, 40, nil}, func(s Stats) uint64 { return s.DropProtocol }},
		{"unknown next header", 99, body, false, false, icmpCall{4, 1, 6, nil}, func(s Stats) uint64 { return s.DropProtocol }},
		{"ESP", 50, body, false, false, icmpCall{4, 1, 6, nil}, func(s Stats) uint64 { return s.DropProtocol }},
		{"unknown next header to multicast: silent", 99, body, true, false, ppNone, func(s Stats) uint64 { return s.DropProtocol }},
		{"8 headers", dst, cat(ext(dst), ext(dst), ext(dst), ext(dst), ext(dst), ext(dst), ext(dst), ext(udp), body), false, true, ppNone, nil},
		{"9 headers", dst, cat(ext(dst), ext(dst), ext(dst), ext(dst), ext(dst), ext(dst), ext(dst), ext(dst), ext(udp), body), false, false, ppNone, func(s Stats) uint64 { return s.DropChainTooLong }},
		{"chain of 1032 bytes", dst, cat(ext(dst, opts(1022)...), ext(udp), body), false, false, ppNone, func(s Stats) uint64 { return s.DropChainTooLong }},
		{"chain of 1024 bytes", dst, cat(ext(dst, opts(1014)...), ext(udp), body), false, true, ppNone, nil},
	}
	for _, c := range cases {
		e := newEnv(t, Config{})
		d, mac := ourAddr, ourMAC
		if c.mcast {
			d, mac = inet.IPv6AllNodes, mcastMAC
		}
		p := packet(Fields{NextHeader: c.first, Src: peerAddr, Dst: d}, c.chain)
		e.input(peerMAC, mac, p)
		if got := len(e.udp.got) == 1; got != c.ok {
			t.Errorf("%s: delivered %v, want %v (%+v)", c.name, got, c.ok, e.l.StatsLocked())
		}
		if c.ok && !bytes.Equal(e.udp.got[0].payload, body) {
			t.Errorf("%s: payload %x", c.name, e.udp.got[0].payload)
		}
		switch {
		case c.pp.typ == 0 && len(e.icmp.calls) != 0:
			t.Errorf("%s: ICMPv6 error asked for: %+v", c.name, e.icmp.calls[0])
		case c.pp.typ != 0 && (len(e.icmp.calls) != 1 || e.icmp.calls[0].typ != c.pp.typ || e.icmp.calls[0].code != c.pp.code ||
			e.icmp.calls[0].ptr != c.pp.ptr || !bytes.Equal(e.icmp.calls[0].off, p)):
			t.Errorf("%s: ICMPv6 errors %+v, want type %d code %d pointer %d", c.name, e.icmp.calls, c.pp.typ, c.pp.code, c.pp.ptr)
		}
		if c.counter != nil && c.counter(e.l.StatsLocked()) != 1 {
			t.Errorf("%s: not counted: %+v", c.name, e.l.StatsLocked())
		}
	}
}

// opts is n bytes of unknown skippable options (type 0x1e), at most 255
// bytes each.
func opts(n int) []byte {
	var b []byte
	for n > 0 {
		m := min(n, 255)
		if n-m == 1 {
			m-- // leave no 1-byte remainder
		}
		b = append(b, 0x1e, byte(m-2))
		b = append(b, make([]byte, m-2)...)
		n -= m
	}
	return b
}
