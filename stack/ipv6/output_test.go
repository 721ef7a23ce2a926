package ipv6

import (
	"bytes"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

// buf is a Buf holding payload, half contiguous and half attached, with
// the layer's headroom.
func (e *env) buf(payload []byte) *pkt.Buf {
	b := pkt.New(e.l.Headroom()+len(payload), e.l.Headroom())
	h := len(payload) / 2
	copy(b.Append(h), payload[:h])
	b.Attach(payload[h:])
	return b
}

func TestWrite(t *testing.T) {
	e := newEnv(t, Config{})
	if err := e.l.Write(inet.Addr{}, peerAddr, inet.ProtoUDP, e.buf(udpBody("hi")), transport.WriteOptions{TOS: 0xb8}); err != nil {
		t.Fatal(err)
	}
	o := e.link.out[0]
	h, err := ParseHeader(o.data)
	want := Fields{TrafficClass: 0xb8, PayloadLen: 10, NextHeader: inet.ProtoUDP, HopLimit: 64, Src: ourAddr, Dst: peerAddr}
	if err != nil || h.Fields() != want || o.dst != peerAddr || !bytes.Equal(h.Payload(), udpBody("hi")) {
		t.Errorf("sent %+v to %v", h.Fields(), o.dst)
	}
	// To a group: hop limit 1, from the link-local address; an explicit
	// hop limit wins.
	e.l.Write(inet.Addr{}, inet.IPv6AllRouters, inet.ProtoICMPv6, e.buf(seq(8)), transport.WriteOptions{})
	e.l.Write(inet.Addr{}, inet.IPv6AllRouters, inet.ProtoICMPv6, e.buf(seq(8)), transport.WriteOptions{TTL: 255})
	if h := Header(e.link.out[1].data); h.HopLimit() != 1 || h.Src() != ourLL || e.link.out[1].dst != inet.IPv6AllRouters {
		t.Errorf("multicast %+v", h.Fields())
	}
	if h := Header(e.link.out[2].data); h.HopLimit() != 255 {
		t.Errorf("hop limit %d", h.HopLimit())
	}
	// From ::, for DAD.
	must(t, e.l.WriteFromUnspecified(inet.SolicitedNode(ourAddr), inet.ProtoICMPv6, e.buf(seq(8)), transport.WriteOptions{TTL: 255}))
	if h := Header(e.link.out[3].data); h.Src() != inet.IPv6Unspecified {
		t.Errorf("from :: %+v", h.Fields())
	}
}

func TestWriteErrors(t *testing.T) {
	e := newEnv(t, Config{})
	tent := inet.MustParseAddr("2001:db8::99")
	must(t, e.l.AddAddrLocked(inet.Prefix6{Addr: tent, Bits: 64}, StateTentative))
	cases := []struct {
		name     string
		src, dst inet.Addr
		err      error
	}{
		{"IPv4 destination", inet.Addr{}, inet.MustParseAddr("10.0.0.1"), transport.ErrAddrFamily},
		{"IPv4 source", inet.MustParseAddr("10.0.0.1"), peerAddr, transport.ErrAddrFamily},
		{"from a tentative address", tent, peerAddr, ErrNoAddress},
		{"from an address not ours", farAddr, peerAddr, ErrNoAddress},
		{"to ::", inet.Addr{}, inet.IPv6Unspecified, ErrAddr},
		{"to ::1", ourAddr, inet.IPv6Loopback, ErrAddr},
	}
	for _, c := range cases {
		if err := e.l.Write(c.src, c.dst, inet.ProtoUDP, e.buf(seq(8)), transport.WriteOptions{}); err != c.err {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
	if len(e.link.out) != 0 {
		t.Error("sent")
	}
	// No usable address at all.
	e = newEnv(t, Config{})
	must(t, e.l.RemoveAddrLocked(ourAddr))
	must(t, e.l.RemoveAddrLocked(ourLL))
	if err := e.l.Write(inet.Addr{}, peerAddr, inet.ProtoUDP, e.buf(seq(8)), transport.WriteOptions{}); err != ErrNoAddress {
		t.Errorf("unaddressed: %v", err)
	}
}

func TestFragmentation(t *testing.T) {
	e := newEnv(t, Config{})
	payload := udpWhole(4000)
	if err := e.l.Write(inet.Addr{}, peerAddr, inet.ProtoUDP, e.buf(payload), transport.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(e.link.out) != 3 {
		t.Fatalf("%d fragments", len(e.link.out))
	}
	var got []byte
	var id uint32
	for i, o := range e.link.out {
		h, err := ParseHeader(o.data)
		if err != nil || len(o.data) > 1500 || h.NextHeader() != inet.ProtoFragment {
			t.Fatalf("fragment %d: %v %d bytes", i, err, len(o.data))
		}
		fh, _ := ParseFragmentHeader(h.Payload())
		if i == 0 {
			id = fh.ID()
		}
		if fh.ID() != id || fh.NextHeader() != inet.ProtoUDP || fh.Offset() != len(got) || fh.More() != (i < 2) {
			t.Errorf("fragment %d: %+v", i, fh.Fields())
		}
		if fh.More() && (len(h.Payload())-8)%8 != 0 {
			t.Errorf("fragment %d: %d bytes", i, len(h.Payload())-8)
		}
		got = append(got, h.Payload()[8:]...)
	}
	if !bytes.Equal(got, payload) || len(e.link.out[0].data) != 1496 {
		t.Error("fragments do not rebuild the payload")
	}
	// Our own fragments reassemble in another layer.
	peer := newEnv(t, Config{})
	must(t, peer.l.RemoveAddrLocked(ourAddr))
	must(t, peer.l.AddAddrLocked(inet.Prefix6{Addr: peerAddr, Bits: 64}, StatePreferred))
	for _, o := range e.link.out {
		peer.input(ourMAC, peerMAC, o.data)
	}
	if len(peer.udp.got) != 1 || !bytes.Equal(peer.udp.got[0].payload, payload) {
		t.Errorf("peer: %+v", peer.l.StatsLocked())
	}
	// A second packet to the same destination gets another ID; DontFragment
	// refuses; so does more than 65535.
	e.l.Write(inet.Addr{}, peerAddr, inet.ProtoUDP, e.buf(payload), transport.WriteOptions{})
	if fh, _ := ParseFragmentHeader(Header(e.link.out[3].data).Payload()); fh.ID() == id {
		t.Error("fragment ID reused")
	}
	if err := e.l.Write(inet.Addr{}, peerAddr, inet.ProtoUDP, e.buf(payload), transport.WriteOptions{DontFragment: true}); err != ErrMessageTooLong {
		t.Errorf("DontFragment: %v", err)
	}
	if err := e.l.Write(inet.Addr{}, peerAddr, inet.ProtoUDP, e.buf(make([]byte, 65536)), transport.WriteOptions{}); err != ErrMessageTooLong {
		t.Errorf("65536 bytes: %v", err)
	}
	if s := e.l.StatsLocked(); s.FragmentedSent != 2 || s.FragmentsSent != 6 || s.DropTooBig != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestFragmentIDs(t *testing.T) {
	var g1, g2 fragIDGen
	g1.init(bytes.NewReader(seq(16)))
	g2.init(bytes.NewReader(seq(16)[1:]))
	// Toward one destination, IDs follow each other; toward another
	// they start elsewhere; another key gives other IDs.
	a, b := g1.next(ourAddr, peerAddr), g1.next(ourAddr, peerAddr)
	c := g1.next(ourAddr, farAddr)
	d := g2.next(ourAddr, peerAddr)
	if b != a+1 || c == b+1 || d == a || d == b {
		t.Errorf("IDs %x %x %x %x", a, b, c, d)
	}
}

func TestPathMTU(t *testing.T) {
	e := newEnv(t, Config{PMTUEntries: 2})
	if e.l.MTU(farAddr) != 1500 {
		t.Fatal("initial MTU")
	}
	if !e.l.UpdatePMTULocked(farAddr, 1400) || e.l.MTU(farAddr) != 1400 || e.l.MTU(peerAddr) != 1500 {
		t.Errorf("after PTB 1400: %d", e.l.MTU(farAddr))
	}
	// Never raised, never under 1280, never above the link's.
	if e.l.UpdatePMTULocked(farAddr, 1450) || e.l.UpdatePMTULocked(farAddr, 1000) || e.l.MTU(farAddr) != 1400 {
		t.Errorf("raised or lowered below 1280: %d", e.l.MTU(farAddr))
	}
	if e.l.UpdatePMTULocked(peerAddr, 9000) || e.l.StatsLocked().PMTUEntries != 1 {
		t.Error("entry for an MTU above the link's")
	}
	// Packets to far are fragmented to 1400.
	e.l.Write(inet.Addr{}, farAddr, inet.ProtoUDP, e.buf(udpWhole(2000)), transport.WriteOptions{})
	if len(e.link.out) != 2 || len(e.link.out[0].data) != 1400 {
		t.Errorf("fragments of %d bytes", len(e.link.out[0].data))
	}
	// The table is bounded: the entry that expires first goes.
	e.clk.Advance(time.Minute)
	e.l.UpdatePMTULocked(peerAddr, 1300)
	e.l.UpdatePMTULocked(ourLL, 1290)
	if e.l.MTU(farAddr) != 1500 || e.l.MTU(peerAddr) != 1300 || e.l.MTU(ourLL) != 1290 {
		t.Errorf("replacement: %d %d %d", e.l.MTU(farAddr), e.l.MTU(peerAddr), e.l.MTU(ourLL))
	}
	// After 10 minutes the link MTU is tried again (RFC 8201 §4).
	e.clk.Advance(10 * time.Minute)
	if e.l.MTU(peerAddr) != 1500 || e.l.StatsLocked().PMTUEntries != 1 {
		t.Errorf("not expired: %d", e.l.MTU(peerAddr))
	}
	// An expired entry starts again from the link MTU.
	if !e.l.UpdatePMTULocked(ourLL, 1450) || e.l.MTU(ourLL) != 1450 {
		t.Errorf("expired entry: %d", e.l.MTU(ourLL))
	}
	// The link MTU (an RA's MTU option).
	if e.l.SetMTU(1279) == nil || e.l.SetMTU(1501) == nil {
		t.Error("SetMTU out of range")
	}
	must(t, e.l.SetMTU(1280))
	if e.l.MTU(farAddr) != 1280 || e.l.LinkMTU() != 1280 {
		t.Errorf("link MTU %d", e.l.MTU(farAddr))
	}
}

func TestDeliverError(t *testing.T) {
	e := newEnv(t, Config{})
	sent := packet(Fields{NextHeader: inet.ProtoHopByHop, Src: ourAddr, Dst: farAddr}, cat(ext(inet.ProtoUDP), udpBody("abc")))
	e.l.DeliverError(transport.PacketTooBig, 1400, peerAddr, Header(sent))
	if len(e.udp.errs) != 1 || e.l.MTU(farAddr) != 1400 {
		t.Fatalf("not delivered: %+v", e.l.StatsLocked())
	}
	g := e.udp.errs[0]
	if g.Kind != transport.PacketTooBig || g.MTU != 1400 || g.From != peerAddr || g.Src != ourAddr || g.Dst != farAddr || !bytes.Equal(g.Quoted, udpBody("abc")) {
		t.Errorf("error %+v", g)
	}
	// Not ours, no transport, a chain cut short, a PTB under 1280.
	notOurs := packet(Fields{NextHeader: inet.ProtoUDP, Src: peerAddr, Dst: farAddr}, udpBody("x"))
	e.l.DeliverError(transport.HostUnreachable, 0, peerAddr, Header(notOurs))
	e.l.DeliverError(transport.HostUnreachable, 0, peerAddr, Header(packet(Fields{NextHeader: 99, Src: ourAddr, Dst: farAddr}, nil)))
	e.l.DeliverError(transport.HostUnreachable, 0, peerAddr, Header(sent[:44]))
	e.l.DeliverError(transport.PacketTooBig, 1000, peerAddr, Header(sent))
	if len(e.udp.errs) != 1 || e.l.StatsLocked().ControlErrorDrops != 4 {
		t.Errorf("drops %+v", e.l.StatsLocked())
	}
	// Port unreachable goes out for unicast only.
	p := udpFrom(peerAddr, ourAddr, "x")
	e.input(peerMAC, ourMAC, p)
	e.l.PortUnreachable(&transport.Packet{Header: p})
	e.l.PortUnreachable(&transport.Packet{Header: p, Broadcast: true})
	if len(e.icmp.calls) != 1 || e.icmp.calls[0].typ != 1 || e.icmp.calls[0].code != 4 {
		t.Errorf("port unreachable %+v", e.icmp.calls)
	}
}

func TestUpperLayer(t *testing.T) {
	for _, c := range []struct {
		name  string
		p     []byte
		proto uint8
		off   int
		ok    bool
	}{
		{"plain", packet(Fields{NextHeader: inet.ProtoTCP}, seq(20)), inet.ProtoTCP, 40, true},
		{"behind options", packet(Fields{NextHeader: inet.ProtoHopByHop}, cat(ext(inet.ProtoDestOpts), ext(inet.ProtoUDP), seq(8))), inet.ProtoUDP, 56, true},
		{"first fragment", packet(Fields{NextHeader: inet.ProtoFragment}, frag(inet.ProtoUDP, 0, true, 1, seq(8))), inet.ProtoUDP, 48, true},
		{"later fragment", packet(Fields{NextHeader: inet.ProtoFragment}, frag(inet.ProtoUDP, 8, true, 1, seq(8))), 0, 0, false},
		{"cut short", packet(Fields{NextHeader: inet.ProtoHopByHop}, cat(ext(inet.ProtoDestOpts), ext(inet.ProtoUDP), seq(8)))[:50], 0, 0, false},
		{"no next header", packet(Fields{NextHeader: inet.ProtoNoNext}, nil), inet.ProtoNoNext, 40, true},
	} {
		proto, off, ok := UpperLayer(Header(c.p), 8)
		if proto != c.proto || off != c.off || ok != c.ok {
			t.Errorf("%s: %d %d %v", c.name, proto, off, ok)
		}
	}
}

func TestAllocs(t *testing.T) {
	e := newEnv(t, Config{})
	e.link.discard = true
	e.udp.noCopy = true
	p := udpFrom(peerAddr, ourAddr, "sixteen bytes!!!")
	opts := packet(Fields{NextHeader: inet.ProtoHopByHop, Src: peerAddr, Dst: ourAddr}, cat(ext(inet.ProtoDestOpts, OptRouterAlert, 2, 0, 0), ext(inet.ProtoUDP), udpBody("x")))
	if n := testing.AllocsPerRun(1000, func() {
		e.input(peerMAC, ourMAC, p)
		e.input(peerMAC, ourMAC, opts)
	}); n != 0 {
		t.Errorf("receive allocates %v", n)
	}
	b := pkt.New(e.l.Headroom()+64, e.l.Headroom())
	body := udpBody("12345678")
	e.l.UpdatePMTULocked(farAddr, 1400) // a cache entry to look through
	if n := testing.AllocsPerRun(1000, func() {
		b.Reset(e.l.Headroom())
		copy(b.Append(16), body)
		e.l.Write(inet.Addr{}, peerAddr, inet.ProtoUDP, b, transport.WriteOptions{})
	}); n != 0 {
		t.Errorf("send allocates %v", n)
	}
	if e.udp.count < 2000 || e.link.count < 1000 {
		t.Errorf("delivered %d, sent %d", e.udp.count, e.link.count)
	}
}

func TestFragmentAllocs(t *testing.T) {
	require.NoRace(t, "sync.Pool drops items at random")
	e := newEnv(t, Config{})
	e.link.discard = true
	big := e.buf(udpWhole(4000))
	e.l.Write(inet.Addr{}, peerAddr, inet.ProtoUDP, big, transport.WriteOptions{}) // the fragment pool
	if n := testing.AllocsPerRun(100, func() {
		e.l.Write(inet.Addr{}, peerAddr, inet.ProtoUDP, big, transport.WriteOptions{})
	}); n != 0 {
		t.Errorf("fragmenting allocates %v", n)
	}
	if e.link.count != 306 { // 1 + 1 + 100 packets of 3 fragments
		t.Errorf("sent %d", e.link.count)
	}
}
