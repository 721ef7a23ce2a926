package icmpv6

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/transport"
)

var (
	ourLL    = inet.MustParseAddr("fe80::5054:ff:fe12:3456")
	ourAddr  = inet.MustParseAddr("2001:db8::15")
	peerAddr = inet.MustParseAddr("2001:db8::2")
	peerLL   = inet.MustParseAddr("fe80::1")
	farAddr  = inet.MustParseAddr("2001:db8:ffff::7")
	ourMAC   = inet.MAC{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	peerMAC  = inet.MAC{0x52, 0x55, 0x0a, 0, 2, 2}
	mcastMAC = inet.MAC{0x33, 0x33, 0, 0, 0, 1}
)

type sent struct {
	dst  inet.Addr
	data []byte
}

type fakeLink struct {
	out     []sent
	count   int
	discard bool
}

func (f *fakeLink) Output(dst inet.Addr, b *pkt.Buf) error {
	f.count++
	if !f.discard {
		d := make([]byte, b.Len())
		b.CopyTo(d)
		f.out = append(f.out, sent{dst, d})
	}
	return nil
}
func (f *fakeLink) Headroom() int { return 14 }
func (f *fakeLink) MTU() int      { return 1500 }

type fakeTransport struct{ errs []transport.ControlError }

func (f *fakeTransport) Deliver(p *transport.Packet) {}
func (f *fakeTransport) Error(e *transport.ControlError) {
	c := *e
	c.Quoted = bytes.Clone(e.Quoted)
	f.errs = append(f.errs, c)
}

type env struct {
	ip   *ipv6.Layer
	icmp *Layer
	link *fakeLink
	clk  *clock.Virtual
	udp  *fakeTransport
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	clk := clock.NewVirtual(time.Unix(1000, 0))
	q := timer.New(clk, &sync.Mutex{})
	link := &fakeLink{}
	ip := ipv6.New(link, q, ipv6.Config{})
	for _, a := range []inet.Addr{ourLL, ourAddr} {
		if err := ip.AddAddrLocked(inet.Prefix6{Addr: a, Bits: 64}, ipv6.StatePreferred); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{ip: ip, icmp: New(ip, q, cfg), link: link, clk: clk, udp: &fakeTransport{}}
	ip.SetICMP(e.icmp)
	ip.Register(inet.ProtoICMPv6, e.icmp)
	ip.Register(inet.ProtoUDP, e.udp)
	return e
}

// packet is an IPv6 packet from src to dst with next header nh.
func packet(src, dst inet.Addr, nh uint8, payload []byte) []byte {
	b := make([]byte, ipv6.HeaderLen+len(payload))
	(&ipv6.Fields{PayloadLen: uint16(len(payload)), NextHeader: nh, HopLimit: 64, Src: src, Dst: dst}).Encode(b)
	copy(b[ipv6.HeaderLen:], payload)
	return b
}

// icmpFrom is an ICMPv6 message, checksum included, in a packet.
func icmpFrom(src, dst inet.Addr, typ, code uint8, rest uint32, body []byte) []byte {
	f := Fields{Type: typ, Code: code, Rest: rest, Body: body}
	m := make([]byte, f.Len())
	f.Encode(m)
	SetChecksum(m, src, dst, 0, 0)
	return packet(src, dst, inet.ProtoICMPv6, m)
}

// lastICMP parses the last packet sent as IPv6 + ICMPv6 with a valid
// checksum.
func (e *env) lastICMP(t *testing.T) (ipv6.Header, Message) {
	t.Helper()
	if len(e.link.out) == 0 {
		t.Fatalf("nothing sent (icmp %+v, ip %+v)", e.icmp.StatsLocked(), e.ip.StatsLocked())
	}
	h, err := ipv6.ParseHeader(e.link.out[len(e.link.out)-1].data)
	if err != nil || h.NextHeader() != inet.ProtoICMPv6 {
		t.Fatalf("sent %x: %v", e.link.out[len(e.link.out)-1].data, err)
	}
	m, err := ParseMessage(h.Payload())
	if err != nil || !m.ValidChecksum(h.Src(), h.Dst()) {
		t.Fatalf("bad ICMPv6 %x", []byte(h))
	}
	return h, m
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func ourAddrBytes() []byte {
	b := ourAddr.As16()
	return append([]byte{0, 0, 0, 0}, b[:]...)
}

// input hands p to ipv6's Input as a device with no offloads would.
func (e *env) input(src, dst inet.MAC, p []byte) { e.ip.Input(src, dst, p, netif.RxMeta{}) }

func (f *fakeLink) Offloads() netif.Offloads { return netif.Offloads{} }
