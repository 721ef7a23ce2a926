package ipv4

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

func buf(l *Layer, payload []byte) *pkt.Buf {
	b := pkt.New(l.Headroom()+len(payload), l.Headroom())
	copy(b.Append(len(payload)), payload)
	return b
}

func TestWriteRouting(t *testing.T) {
	e := newEnv(t, Config{})
	tests := []struct {
		dst, next inet.Addr4
	}{
		{peerAddr, peerAddr},
		{inet.MustParseAddr4("10.0.2.200"), inet.MustParseAddr4("10.0.2.200")},
		{farAddr, gwAddr},
		{inet.IPv4Broadcast, inet.IPv4Broadcast},
		{inet.MustParseAddr4("10.0.2.255"), inet.MustParseAddr4("10.0.2.255")},
		{inet.MustParseAddr4("224.0.0.251"), inet.MustParseAddr4("224.0.0.251")},
	}
	for _, tc := range tests {
		e.link.out = nil
		if err := e.l.write(inet.IPv4Unspecified, tc.dst, inet.ProtoUDP, buf(e.l, seq(10)), transport.WriteOptions{}); err != nil {
			t.Fatalf("%v: %v", tc.dst, err)
		}
		if len(e.link.out) != 1 || e.link.out[0].next != tc.next {
			t.Errorf("%v: next hop %+v, want %v", tc.dst, e.link.out, tc.next)
		}
	}
	e.l.SetGateway(inet.IPv4Unspecified)
	if err := e.l.write(inet.IPv4Unspecified, farAddr, inet.ProtoUDP, buf(e.l, seq(10)), transport.WriteOptions{}); !errors.Is(err, ErrNoRoute) {
		t.Errorf("no gateway: %v", err)
	}
	if e.l.StatsLocked().DropNoRoute != 1 {
		t.Errorf("stats %+v", e.l.StatsLocked())
	}
}

func TestWriteHeader(t *testing.T) {
	e := newEnv(t, Config{})
	b := buf(e.l, []byte("transport"))
	if err := e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoTCP, b, transport.WriteOptions{TOS: 0x10, DontFragment: true}); err != nil {
		t.Fatal(err)
	}
	h, err := ParseHeader(e.link.out[0].data)
	if err != nil || !h.ValidChecksum() {
		t.Fatalf("%v %x", err, e.link.out[0].data)
	}
	if h.Src() != ourAddr || h.Dst() != peerAddr || h.TTL() != 64 || h.TOS() != 0x10 || !h.DF() || h.Protocol() != inet.ProtoTCP || h.ID() != 0x1234 || string(h.Payload()) != "transport" {
		t.Errorf("header %x", h)
	}
	e.l.write(inet.MustParseAddr4("10.0.2.99"), peerAddr, inet.ProtoTCP, buf(e.l, nil), transport.WriteOptions{TTL: 5})
	h = Header(e.link.out[1].data)
	if h.ID() != 0x1235 || h.TTL() != 5 || h.Src() != inet.MustParseAddr4("10.0.2.99") || h.DF() {
		t.Errorf("second header %x", h)
	}
	// Attachments are carried.
	b = pkt.New(e.l.Headroom()+4, e.l.Headroom())
	copy(b.Append(4), "head")
	b.Attach([]byte("-tail"))
	e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoUDP, b, transport.WriteOptions{})
	if h = Header(e.link.out[2].data); string(h.Payload()) != "head-tail" || h.TotalLen() != 29 {
		t.Errorf("attached: %x", h)
	}
}

func TestSource(t *testing.T) {
	e := newEnv(t, Config{})
	if a, err := e.l.source4(farAddr); a != ourAddr || err != nil {
		t.Errorf("Source = %v %v", a, err)
	}
	e.l.SetAddr(inet.Prefix4{})
	if a, err := e.l.source4(inet.IPv4Broadcast); a != inet.IPv4Unspecified || err != nil {
		t.Errorf("unconfigured broadcast: %v %v", a, err)
	}
	if _, err := e.l.source4(peerAddr); err != ErrNoAddress {
		t.Errorf("unconfigured unicast: %v", err)
	}
	if err := e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoUDP, buf(e.l, nil), transport.WriteOptions{}); err != ErrNoAddress {
		t.Errorf("Write unconfigured: %v", err)
	}
}

func TestFragmentation(t *testing.T) {
	e := newEnv(t, Config{})
	payload := seq(20000)
	// Send half contiguous and half attached to exercise pkt.Buf.CopyAt.
	b := pkt.New(e.l.Headroom()+7000, e.l.Headroom())
	copy(b.Append(7000), payload[:7000])
	b.Attach(payload[7000:13000])
	b.Attach(payload[13000:])
	if err := e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoUDP, b, transport.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.link.out); n != 14 { // ceil(20000/1480)
		t.Fatalf("%d fragments", n)
	}
	for i, o := range e.link.out {
		h, err := ParseHeader(o.data)
		if err != nil || !h.ValidChecksum() || len(o.data) > 1500 {
			t.Fatalf("fragment %d: %v len %d", i, err, len(o.data))
		}
		last := i == len(e.link.out)-1
		if h.FragOffset() != i*1480 || h.MF() == last || h.ID() != 0x1234 || o.next != peerAddr {
			t.Errorf("fragment %d: off %d MF %v id %x", i, h.FragOffset(), h.MF(), h.ID())
		}
		if !last && len(h.Payload()) != 1480 {
			t.Errorf("fragment %d: payload %d", i, len(h.Payload()))
		}
	}
	// Reassemble in a second layer (reverse order).
	r := newEnv(t, Config{})
	r.l.SetAddr(inet.Prefix4{Addr: peerAddr, Bits: 24})
	for i := len(e.link.out) - 1; i >= 0; i-- {
		r.l.Input(ourMAC, peerMAC, e.link.out[i].data, netif.RxMeta{})
	}
	if len(r.udp.got) != 1 || !bytes.Equal(r.udp.got[0].payload, payload) {
		t.Fatalf("reassembly: %d delivered, stats %+v", len(r.udp.got), r.l.StatsLocked())
	}
	if s := e.l.StatsLocked(); s.FragmentedSent != 1 || s.FragmentsSent != 14 || s.Sent != 14 {
		t.Errorf("stats %+v", s)
	}
}

func TestWriteTooBig(t *testing.T) {
	e := newEnv(t, Config{})
	err := e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoUDP, buf(e.l, seq(1481)), transport.WriteOptions{DontFragment: true})
	if err != ErrMessageTooLong || len(e.link.out) != 0 {
		t.Errorf("DF: %v, %d sent", err, len(e.link.out))
	}
	if err := e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoUDP, buf(e.l, seq(1480)), transport.WriteOptions{DontFragment: true}); err != nil {
		t.Errorf("exactly MTU: %v", err)
	}
	err = e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoUDP, buf(e.l, seq(65516)), transport.WriteOptions{})
	if err != ErrMessageTooLong {
		t.Errorf("over 65535: %v", err)
	}
	if e.l.StatsLocked().DropTooBig != 2 {
		t.Errorf("stats %+v", e.l.StatsLocked())
	}
}

func TestWriteLinkError(t *testing.T) {
	e := newEnv(t, Config{})
	e.link.err = errors.New("queue full")
	if err := e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoUDP, buf(e.l, seq(3000)), transport.WriteOptions{}); err != e.link.err {
		t.Errorf("err %v", err)
	}
	if e.l.StatsLocked().DropLinkError != 1 {
		t.Errorf("stats %+v", e.l.StatsLocked())
	}
}

func TestWriteAllocs(t *testing.T) {
	e := newEnv(t, Config{})
	e.link.discard = true
	b := pkt.New(e.l.Headroom()+100, 0)
	n := testing.AllocsPerRun(1000, func() {
		b.Reset(e.l.Headroom())
		b.Append(100)
		if err := e.l.write(inet.IPv4Unspecified, farAddr, inet.ProtoUDP, b, transport.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Write allocates %v per datagram", n)
	}
	if e.link.count < 1000 {
		t.Errorf("sent %d", e.link.count)
	}
}

func TestWriteUnaddressedBroadcast(t *testing.T) {
	e := newEnv(t, Config{})
	e.l.SetAddr(inet.Prefix4{})
	e.l.SetGateway(inet.IPv4Unspecified)
	if err := e.l.write(inet.IPv4Unspecified, inet.IPv4Broadcast, inet.ProtoUDP, buf(e.l, seq(300)), transport.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	h := Header(e.link.out[0].data)
	if h.Src() != inet.IPv4Unspecified || h.Dst() != inet.IPv4Broadcast || e.link.out[0].next != inet.IPv4Broadcast {
		t.Errorf("DHCP discover header %x next %v", h[:20], e.link.out[0].next)
	}
	if e.l.IsLocal(inet.IPv4Unspecified) || e.l.IsBroadcast(inet.MustParseAddr4("10.0.2.255")) || !e.l.IsBroadcast(inet.IPv4Broadcast) {
		t.Error("IsLocal/IsBroadcast while unaddressed")
	}
	e.l.SetAddr(inet.Prefix4{Addr: ourAddr, Bits: 24})
	if !e.l.IsLocal(ourAddr) || !e.l.IsBroadcast(inet.MustParseAddr4("10.0.2.255")) || e.l.IsBroadcast(inet.MustParseAddr4("10.0.3.255")) {
		t.Error("IsLocal/IsBroadcast while addressed")
	}
	e.l.SetAddr(inet.Prefix4{Addr: ourAddr, Bits: 31}) // RFC 3021: no subnet broadcast on /31
	if e.l.IsBroadcast(inet.MustParseAddr4("10.0.2.15")) {
		t.Error("/31 broadcast")
	}
}

func TestSetMTU(t *testing.T) {
	e := newEnv(t, Config{})
	tests := []struct {
		mtu  int
		ok   bool
		want int // MTU() afterwards
	}{
		{1000, true, 1000},
		{575, false, 1000},
		{67, false, 1000},
		{-1, false, 1000},
		{1501, false, 1000},
		{9000, false, 1000},
		{MinSetMTU, true, MinSetMTU},
		{1500, true, 1500}, // the link's: restores it
		{1000, true, 1000},
		{0, true, 1500}, // restores too
	}
	for _, tc := range tests {
		err := e.l.SetMTU(tc.mtu)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrMTU)) {
			t.Errorf("SetMTU(%d): %v, want ok %v", tc.mtu, err, tc.ok)
		}
		if got := e.l.mtu4(); got != tc.want {
			t.Errorf("after SetMTU(%d): MTU %d, want %d", tc.mtu, got, tc.want)
		}
	}
	// Restored means following the link, not a copy of its MTU.
	e.link.mtu = 9000
	if e.l.mtu4() != 9000 {
		t.Errorf("restored MTU %d does not follow the link's 9000", e.l.mtu4())
	}
}

// With the MTU lowered to 1000, a 1400-byte datagram leaves in two
// fragments of at most 1000 bytes (976 = 122*8 data bytes in the first),
// DF datagrams above 1000 bytes are refused, and after restoring the link
// MTU the same datagram leaves whole.
func TestFragmentationAtSetMTU(t *testing.T) {
	e := newEnv(t, Config{})
	if err := e.l.SetMTU(1000); err != nil {
		t.Fatal(err)
	}
	payload := seq(1400 - HeaderLen)
	if err := e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoUDP, buf(e.l, payload), transport.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(e.link.out) != 2 {
		t.Fatalf("%d datagrams, want 2 fragments", len(e.link.out))
	}
	wantLen := []int{HeaderLen + 976, HeaderLen + 1380 - 976}
	for i, o := range e.link.out {
		h, err := ParseHeader(o.data)
		if err != nil || !h.ValidChecksum() || len(o.data) > 1000 || len(o.data) != wantLen[i] {
			t.Fatalf("fragment %d: %v, %d bytes, want %d", i, err, len(o.data), wantLen[i])
		}
		if h.FragOffset() != i*976 || h.MF() != (i == 0) {
			t.Errorf("fragment %d: offset %d MF %v", i, h.FragOffset(), h.MF())
		}
	}
	r := newEnv(t, Config{})
	r.l.SetAddr(inet.Prefix4{Addr: peerAddr, Bits: 24})
	for _, o := range e.link.out {
		r.l.Input(ourMAC, peerMAC, o.data, netif.RxMeta{})
	}
	if len(r.udp.got) != 1 || !bytes.Equal(r.udp.got[0].payload, payload) {
		t.Fatalf("reassembly: %d delivered, stats %+v", len(r.udp.got), r.l.StatsLocked())
	}
	if err := e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoTCP, buf(e.l, seq(1000-HeaderLen+1)), transport.WriteOptions{DontFragment: true}); err != ErrMessageTooLong {
		t.Errorf("DF over the set MTU: %v", err)
	}
	if err := e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoTCP, buf(e.l, seq(1000-HeaderLen)), transport.WriteOptions{DontFragment: true}); err != nil {
		t.Errorf("DF at the set MTU: %v", err)
	}
	e.link.out = nil
	e.l.SetMTU(0)
	if err := e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoUDP, buf(e.l, payload), transport.WriteOptions{}); err != nil || len(e.link.out) != 1 || len(e.link.out[0].data) != 1400 {
		t.Fatalf("after restoring: %v, %d datagrams", err, len(e.link.out))
	}
	if s := e.l.StatsLocked(); s.FragmentedSent != 1 || s.FragmentsSent != 2 || s.DropTooBig != 1 {
		t.Errorf("stats %+v", s)
	}
}
