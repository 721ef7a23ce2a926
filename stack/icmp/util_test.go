package icmp

import (
	"bytes"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/transport"
)

var (
	ourAddr  = inet.MustParseAddr4("10.0.2.15")
	peerAddr = inet.MustParseAddr4("10.0.2.2")
	gwAddr   = inet.MustParseAddr4("10.0.2.1")
	farAddr  = inet.MustParseAddr4("192.0.2.7")
	ourMAC   = inet.MAC{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	peerMAC  = inet.MAC{0x52, 0x55, 0x0a, 0, 2, 2}
)

// goldenPing is a Linux ping (iputils) echo request 10.0.2.2 -> 10.0.2.15,
// 56 data bytes, id 0x2a seq 1; checksums computed independently.
var goldenPing = mustHex("45000054a6f2400040017ba60a0002020a00020f0800c097002a0001" +
	"6b1f5c6700000000a3e30d0000000000101112131415161718191a1b1c1d1e1f" +
	"202122232425262728292a2b2c2d2e2f3031323334353637")

// goldenReply is the ICMP part of the answer to goldenPing.
var goldenReply = mustHex("0000c897002a0001" +
	"6b1f5c6700000000a3e30d0000000000101112131415161718191a1b1c1d1e1f" +
	"202122232425262728292a2b2c2d2e2f3031323334353637")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

type sent struct {
	next inet.Addr4
	data []byte
}

type fakeLink struct {
	out     []sent
	count   int
	discard bool
}

func (f *fakeLink) Output(next inet.Addr4, b *pkt.Buf) error {
	f.count++
	if !f.discard {
		d := make([]byte, b.Len())
		b.CopyTo(d)
		f.out = append(f.out, sent{next, d})
	}
	return nil
}
func (f *fakeLink) Headroom() int            { return 14 }
func (f *fakeLink) Offloads() netif.Offloads { return netif.Offloads{} }
func (f *fakeLink) MTU() int                 { return 1500 }

type fakeTransport struct{ errs []transport.ControlError }

func (f *fakeTransport) Deliver(p *transport.Packet) {}
func (f *fakeTransport) Error(e *transport.ControlError) {
	c := *e
	c.Quoted = bytes.Clone(e.Quoted)
	f.errs = append(f.errs, c)
}

type env struct {
	ip   *ipv4.Layer
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
	ip := ipv4.New(link, q, ipv4.Config{Rand: bytes.NewReader([]byte{0, 1})})
	ip.SetAddr(inet.Prefix4{Addr: ourAddr, Bits: 24})
	ip.SetGateway(gwAddr)
	e := &env{ip: ip, link: link, clk: clk, udp: &fakeTransport{}}
	ip.Register(inet.ProtoUDP, e.udp)
	e.icmp = New(ip, q, cfg)
	ip.Register(inet.ProtoICMP, e.icmp)
	ip.SetICMP(e.icmp)
	return e
}

func datagram(f ipv4.Fields, payload []byte) []byte {
	b := make([]byte, f.Len()+len(payload))
	f.TotalLen = uint16(len(b))
	if f.TTL == 0 {
		f.TTL = 64
	}
	f.Encode(b)
	copy(b[f.Len():], payload)
	return b
}

// icmpFrom wraps an ICMP message from src to our address.
func icmpFrom(src, dst inet.Addr4, typ, code uint8, rest uint32, body []byte) []byte {
	m := make([]byte, HeaderLen+len(body))
	(&Fields{Type: typ, Code: code, Rest: rest, Body: body}).Encode(m)
	return datagram(ipv4.Fields{Protocol: inet.ProtoICMP, Src: src, Dst: dst}, m)
}

// lastICMP parses the last datagram sent, which must be ICMP.
func (e *env) lastICMP(t *testing.T) (ipv4.Header, Message) {
	t.Helper()
	if len(e.link.out) == 0 {
		t.Fatal("nothing sent")
	}
	h, err := ipv4.ParseHeader(e.link.out[len(e.link.out)-1].data)
	if err != nil || h.Protocol() != inet.ProtoICMP || !h.ValidChecksum() {
		t.Fatalf("bad datagram: %v", err)
	}
	m, err := ParseMessage(h.Payload())
	if err != nil || !m.ValidChecksum() {
		t.Fatalf("bad ICMP: %v %x", err, h.Payload())
	}
	return h, m
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}
