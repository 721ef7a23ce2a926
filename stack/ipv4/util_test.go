package ipv4

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
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

// sent is one datagram the fake link was asked to send.
type sent struct {
	next inet.Addr4
	data []byte
}

// fakeLink records Output calls.
type fakeLink struct {
	mtu, headroom int
	out           []sent
	count         int
	discard       bool // count only (allocation tests)
	err           error
	off           netif.Offloads
}

func (f *fakeLink) Output(next inet.Addr4, b *pkt.Buf) error {
	if f.err != nil {
		return f.err
	}
	f.count++
	if f.discard {
		return nil
	}
	d := make([]byte, b.Len())
	b.CopyTo(d)
	f.out = append(f.out, sent{next, d})
	return nil
}
func (f *fakeLink) Headroom() int            { return f.headroom }
func (f *fakeLink) Offloads() netif.Offloads { return f.off }
func (f *fakeLink) MTU() int                 { return f.mtu }

// delivered is a copy of one Packet.
type delivered struct {
	src, dst  inet.Addr
	payload   []byte
	hdr       []byte
	broadcast bool
}

type fakeTransport struct {
	got    []delivered
	errs   []transport.ControlError
	count  int
	noCopy bool
}

func (f *fakeTransport) Deliver(p *transport.Packet) {
	f.count++
	if f.noCopy {
		return
	}
	f.got = append(f.got, delivered{p.Src, p.Dst, bytes.Clone(p.Payload), bytes.Clone(p.Header), p.Broadcast})
}

func (f *fakeTransport) Error(e *transport.ControlError) {
	c := *e
	c.Quoted = bytes.Clone(e.Quoted)
	f.errs = append(f.errs, c)
}

type icmpCall struct {
	typ, code uint8
	off       []byte
}

type fakeICMP struct{ calls []icmpCall }

func (f *fakeICMP) SendUnreachable(code uint8, h Header) {
	f.calls = append(f.calls, icmpCall{3, code, bytes.Clone(h)})
}
func (f *fakeICMP) SendTimeExceeded(code uint8, h Header) {
	f.calls = append(f.calls, icmpCall{11, code, bytes.Clone(h)})
}

type env struct {
	l    *Layer
	link *fakeLink
	clk  *clock.Virtual
	udp  *fakeTransport
	tcp  *fakeTransport
	icmp *fakeICMP
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	clk := clock.NewVirtual(time.Unix(1000, 0))
	q := timer.New(clk, &sync.Mutex{})
	link := &fakeLink{mtu: 1500, headroom: 14}
	if cfg.Rand == nil {
		cfg.Rand = bytes.NewReader([]byte{0x12, 0x34})
	}
	l := New(link, q, cfg)
	l.SetAddr(inet.Prefix4{Addr: ourAddr, Bits: 24})
	l.SetGateway(gwAddr)
	e := &env{l: l, link: link, clk: clk, udp: &fakeTransport{}, tcp: &fakeTransport{}, icmp: &fakeICMP{}}
	l.Register(inet.ProtoUDP, e.udp)
	l.Register(inet.ProtoTCP, e.tcp)
	l.SetICMP(e.icmp)
	return e
}

// datagram builds a datagram with header f (TotalLen computed) and payload.
func datagram(f Fields, payload []byte) []byte {
	b := make([]byte, f.Len()+len(payload))
	f.TotalLen = uint16(len(b))
	if f.TTL == 0 {
		f.TTL = 64
	}
	if _, err := f.Encode(b); err != nil {
		panic(err)
	}
	copy(b[f.Len():], payload)
	return b
}

// udpTo is a datagram from peer to dst carrying an 8-byte pseudo UDP header
// and data.
func udpTo(dst inet.Addr4, data string) []byte {
	return datagram(Fields{Protocol: inet.ProtoUDP, Src: peerAddr, Dst: dst, ID: 7}, append([]byte{0, 68, 0, 67, 0, 0, 0, 0}, data...))
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}
