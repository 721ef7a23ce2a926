package ipv4

import (
	"bytes"
	"testing"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

func TestInputDelivers(t *testing.T) {
	e := newEnv(t, Config{})
	frame := append(udpTo(ourAddr, "hello"), 0, 0, 0) // with padding
	e.l.Input(peerMAC, ourMAC, frame, netif.RxMeta{})
	if len(e.udp.got) != 1 {
		t.Fatalf("delivered %d, stats %+v", len(e.udp.got), e.l.StatsLocked())
	}
	g := e.udp.got[0]
	if g.src != inet.AddrFrom4(peerAddr) || g.dst != inet.AddrFrom4(ourAddr) || g.broadcast || string(g.payload[8:]) != "hello" {
		t.Errorf("got %+v", g)
	}
	if s := e.l.StatsLocked(); s.Received != 1 || s.Delivered != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestInputBroadcast(t *testing.T) {
	e := newEnv(t, Config{})
	for _, dst := range []inet.Addr4{inet.IPv4Broadcast, inet.MustParseAddr4("10.0.2.255")} {
		e.udp.got = nil
		e.l.Input(peerMAC, inet.BroadcastMAC, udpTo(dst, "x"), netif.RxMeta{})
		if len(e.udp.got) != 1 || !e.udp.got[0].broadcast {
			t.Errorf("%v: %+v", dst, e.udp.got)
		}
	}
	// Unicast IP in a link-layer broadcast is flagged too.
	e.udp.got = nil
	e.l.Input(peerMAC, inet.BroadcastMAC, udpTo(ourAddr, "x"), netif.RxMeta{})
	if len(e.udp.got) != 1 || !e.udp.got[0].broadcast {
		t.Errorf("link broadcast: %+v", e.udp.got)
	}
}

func TestInputUnconfigured(t *testing.T) {
	e := newEnv(t, Config{})
	e.l.SetAddr(inet.Prefix4{})
	e.l.Input(peerMAC, ourMAC, udpTo(inet.MustParseAddr4("10.9.9.9"), "offer"), netif.RxMeta{})
	if len(e.udp.got) != 1 {
		t.Errorf("DHCP-phase UDP unicast not accepted")
	}
	tcp := datagram(Fields{Protocol: inet.ProtoTCP, Src: peerAddr, Dst: inet.MustParseAddr4("10.9.9.9")}, seq(20))
	e.l.Input(peerMAC, ourMAC, tcp, netif.RxMeta{})
	if e.tcp.count != 0 || e.l.StatsLocked().DropNotForUs != 1 {
		t.Errorf("DHCP-phase TCP accepted")
	}
	e = newEnv(t, Config{AcceptAnyDst: true})
	e.l.Input(peerMAC, ourMAC, tcp, netif.RxMeta{})
	if len(e.tcp.got) != 1 {
		t.Errorf("AcceptAnyDst: not delivered")
	}
}

func TestInputUnspecifiedSource(t *testing.T) {
	d := datagram(Fields{Protocol: inet.ProtoUDP, Src: inet.IPv4Unspecified, Dst: inet.IPv4Broadcast}, seq(8))
	e := newEnv(t, Config{})
	e.l.Input(peerMAC, inet.BroadcastMAC, d, netif.RxMeta{})
	if e.udp.count != 0 || e.l.StatsLocked().DropSource != 1 {
		t.Error("0.0.0.0 source accepted by default")
	}
	e = newEnv(t, Config{AcceptUnspecifiedSource: true})
	e.l.Input(peerMAC, inet.BroadcastMAC, d, netif.RxMeta{})
	if len(e.udp.got) != 1 {
		t.Error("AcceptUnspecifiedSource: not delivered")
	}
}

// stat names a drop counter.
type stat func(s *Stats) uint64

func TestInputDrops(t *testing.T) {
	good := udpTo(ourAddr, "payload")
	mod := func(f func(b []byte) []byte) []byte {
		b := f(bytes.Clone(good))
		b[10], b[11] = 0, 0
		hf := Header(b).Fields()
		hf.Encode(b)
		return b
	}
	raw := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	withOpts := func(opts ...byte) []byte {
		return datagram(Fields{Protocol: inet.ProtoUDP, Src: peerAddr, Dst: ourAddr, Options: opts}, seq(8))
	}
	from := func(a inet.Addr4) []byte {
		return datagram(Fields{Protocol: inet.ProtoUDP, Src: a, Dst: ourAddr}, seq(8))
	}
	to := func(a inet.Addr4) []byte {
		return datagram(Fields{Protocol: inet.ProtoUDP, Src: peerAddr, Dst: a}, seq(8))
	}
	tests := []struct {
		name    string
		b       []byte
		counter stat
	}{
		{"short", good[:19], func(s *Stats) uint64 { return s.DropShort }},
		{"version", raw(func(b []byte) { b[0] = 0x65 }), func(s *Stats) uint64 { return s.DropVersion }},
		{"IHL<5", raw(func(b []byte) { b[0] = 0x44 }), func(s *Stats) uint64 { return s.DropIHL }},
		{"IHL past end", good[:22], func(s *Stats) uint64 { return s.DropLength }},
		{"IHL>len", raw(func(b []byte) { b[0] = 0x4f }), func(s *Stats) uint64 { return s.DropIHL }},
		{"total>len", raw(func(b []byte) { b[3]++ }), func(s *Stats) uint64 { return s.DropLength }},
		{"total<IHL", raw(func(b []byte) { b[2], b[3] = 0, 12 }), func(s *Stats) uint64 { return s.DropLength }},
		{"checksum", raw(func(b []byte) { b[11]++ }), func(s *Stats) uint64 { return s.DropChecksum }},
		{"bad option", withOpts(7, 9, 0, 0), func(s *Stats) uint64 { return s.DropOptions }},
		{"lsrr", withOpts(131, 7, 4, 1, 2, 3, 4, 0), func(s *Stats) uint64 { return s.DropSourceRoute }},
		{"ssrr", withOpts(137, 3, 4, 0), func(s *Stats) uint64 { return s.DropSourceRoute }},
		{"src broadcast", from(inet.IPv4Broadcast), func(s *Stats) uint64 { return s.DropSource }},
		{"src subnet broadcast", from(inet.MustParseAddr4("10.0.2.255")), func(s *Stats) uint64 { return s.DropSource }},
		{"src multicast", from(inet.MustParseAddr4("224.0.0.1")), func(s *Stats) uint64 { return s.DropSource }},
		{"src zero", from(inet.IPv4Unspecified), func(s *Stats) uint64 { return s.DropSource }},
		{"src loopback", from(inet.MustParseAddr4("127.0.0.1")), func(s *Stats) uint64 { return s.DropSource }},
		{"src ours (land)", from(ourAddr), func(s *Stats) uint64 { return s.DropSource }},
		{"src subnet zero", from(inet.MustParseAddr4("10.0.2.0")), func(s *Stats) uint64 { return s.DropSource }},
		{"src this network", from(inet.MustParseAddr4("0.1.2.3")), func(s *Stats) uint64 { return s.DropSource }},
		{"src class E", from(inet.MustParseAddr4("240.1.2.3")), func(s *Stats) uint64 { return s.DropSource }},
		{"src class E 240.0.0.0", from(inet.MustParseAddr4("240.0.0.0")), func(s *Stats) uint64 { return s.DropSource }},
		{"src class E top", from(inet.MustParseAddr4("255.255.255.254")), func(s *Stats) uint64 { return s.DropSource }},
		{"src class E fragment", datagram(Fields{Protocol: inet.ProtoUDP, Src: inet.MustParseAddr4("250.0.0.1"), Dst: ourAddr, MF: true}, seq(8)), func(s *Stats) uint64 { return s.DropSource }},
		{"dst other host", to(inet.MustParseAddr4("10.0.2.16")), func(s *Stats) uint64 { return s.DropNotForUs }},
		{"dst multicast", to(inet.MustParseAddr4("224.0.0.251")), func(s *Stats) uint64 { return s.DropNotForUs }},
		{"dst zero", to(inet.IPv4Unspecified), func(s *Stats) uint64 { return s.DropNotForUs }},
		{"dst other subnet bcast", to(inet.MustParseAddr4("10.0.3.255")), func(s *Stats) uint64 { return s.DropNotForUs }},
		{"unknown protocol", mod(func(b []byte) []byte { b[9] = 99; return b }), func(s *Stats) uint64 { return s.DropProtocol }},
		{"non-last fragment len%8", mod(func(b []byte) []byte { b[6] = 0x20; return b }), func(s *Stats) uint64 { return s.ReasmDrops }},
	}
	for _, tc := range tests {
		e := newEnv(t, Config{})
		e.l.Input(peerMAC, ourMAC, tc.b, netif.RxMeta{})
		s := e.l.StatsLocked()
		if e.udp.count != 0 || len(e.udp.got) != 0 {
			t.Errorf("%s: delivered", tc.name)
		}
		if tc.counter(&s) != 1 {
			t.Errorf("%s: counter not 1: %+v", tc.name, s)
		}
		if s.Received != 1 || s.Delivered != 0 || s.ReasmPending != 0 {
			t.Errorf("%s: received %d delivered %d reassembling %d", tc.name, s.Received, s.Delivered, s.ReasmPending)
		}
	}
	// The good datagram itself passes, so the table is not vacuous.
	e := newEnv(t, Config{})
	e.l.Input(peerMAC, ourMAC, good, netif.RxMeta{})
	if len(e.udp.got) != 1 {
		t.Fatal("good datagram dropped")
	}
	e.l.Input(peerMAC, ourMAC, withOpts(OptRR, 7, 4, 0, 0, 0, 0, OptNOP, OptTimestamp, 4, 5, 0), netif.RxMeta{})
	if len(e.udp.got) != 2 {
		t.Errorf("record route / timestamp not accepted: %+v", e.l.StatsLocked())
	}
}

func TestUnknownProtocolICMP(t *testing.T) {
	e := newEnv(t, Config{})
	d := datagram(Fields{Protocol: 99, Src: peerAddr, Dst: ourAddr}, seq(30))
	e.l.Input(peerMAC, ourMAC, d, netif.RxMeta{})
	if len(e.icmp.calls) != 1 || e.icmp.calls[0].typ != 3 || e.icmp.calls[0].code != 2 || !bytes.Equal(e.icmp.calls[0].off, d) {
		t.Fatalf("calls %+v", e.icmp.calls)
	}
	e.l.Input(peerMAC, ourMAC, datagram(Fields{Protocol: 99, Src: peerAddr, Dst: inet.IPv4Broadcast}, seq(30)), netif.RxMeta{})
	e.l.Input(peerMAC, inet.BroadcastMAC, d, netif.RxMeta{})
	if len(e.icmp.calls) != 1 {
		t.Errorf("unreachable about a broadcast: %+v", e.icmp.calls)
	}
	if e.l.StatsLocked().DropProtocol != 3 {
		t.Errorf("stats %+v", e.l.StatsLocked())
	}
}

func TestInputAllocs(t *testing.T) {
	e := newEnv(t, Config{})
	e.udp.noCopy = true
	d := udpTo(ourAddr, "no allocations here")
	n := testing.AllocsPerRun(1000, func() { e.l.Input(peerMAC, ourMAC, d, netif.RxMeta{}) })
	if n != 0 {
		t.Errorf("Input allocates %v per datagram", n)
	}
	if e.udp.count < 1000 {
		t.Errorf("delivered %d", e.udp.count)
	}
}
