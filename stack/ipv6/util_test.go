package ipv6

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
	ourLL    = inet.MustParseAddr("fe80::5054:ff:fe12:3456")
	ourAddr  = inet.MustParseAddr("2001:db8::15")
	peerAddr = inet.MustParseAddr("2001:db8::2")
	peerLL   = inet.MustParseAddr("fe80::1")
	farAddr  = inet.MustParseAddr("2001:db8:ffff::7")
	ourMAC   = inet.MAC{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	peerMAC  = inet.MAC{0x52, 0x55, 0x0a, 0, 2, 2}
	mcastMAC = inet.MAC{0x33, 0x33, 0, 0, 0, 1}
)

// sent is one packet the fake link was asked to send.
type sent struct {
	dst  inet.Addr
	data []byte
}

// fakeLink records Output calls.
type fakeLink struct {
	mtu, headroom int
	out           []sent
	count         int
	discard       bool // count only (allocation tests)
	err           error
}

func (f *fakeLink) Output(dst inet.Addr, b *pkt.Buf) error {
	if f.err != nil {
		return f.err
	}
	f.count++
	if f.discard {
		return nil
	}
	d := make([]byte, b.Len())
	b.CopyTo(d)
	f.out = append(f.out, sent{dst, d})
	return nil
}
func (f *fakeLink) Headroom() int { return f.headroom }
func (f *fakeLink) MTU() int      { return f.mtu }

// delivered is a copy of one Packet.
type delivered struct {
	p       transport.Packet
	payload []byte
	hdr     []byte
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
	f.got = append(f.got, delivered{*p, bytes.Clone(p.Payload), bytes.Clone(p.Header)})
}

func (f *fakeTransport) Error(e *transport.ControlError) {
	c := *e
	c.Quoted = bytes.Clone(e.Quoted)
	f.errs = append(f.errs, c)
}

type icmpCall struct {
	typ, code uint8
	ptr       uint32
	off       []byte
}

type fakeICMP struct{ calls []icmpCall }

func (f *fakeICMP) SendParamProblem(code uint8, ptr uint32, h Header) {
	f.calls = append(f.calls, icmpCall{4, code, ptr, bytes.Clone(h)})
}
func (f *fakeICMP) SendUnreachable(code uint8, h Header) {
	f.calls = append(f.calls, icmpCall{1, code, 0, bytes.Clone(h)})
}
func (f *fakeICMP) SendTimeExceeded(code uint8, h Header) {
	f.calls = append(f.calls, icmpCall{3, code, 0, bytes.Clone(h)})
}

type env struct {
	l    *Layer
	link *fakeLink
	clk  *clock.Virtual
	udp  *fakeTransport
	tcp  *fakeTransport
	icmp *fakeICMP
	ic6  *fakeTransport
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	clk := clock.NewVirtual(time.Unix(1000, 0))
	q := timer.New(clk, &sync.Mutex{})
	link := &fakeLink{mtu: 1500, headroom: 14}
	if cfg.Rand == nil {
		cfg.Rand = bytes.NewReader(seq(16))
	}
	l := New(link, q, cfg)
	must(t, l.AddAddrLocked(inet.Prefix6{Addr: ourLL, Bits: 64}, StatePreferred))
	must(t, l.AddAddrLocked(inet.Prefix6{Addr: ourAddr, Bits: 64}, StatePreferred))
	e := &env{l: l, link: link, clk: clk, udp: &fakeTransport{}, tcp: &fakeTransport{}, icmp: &fakeICMP{}, ic6: &fakeTransport{}}
	l.Register(inet.ProtoUDP, e.udp)
	l.Register(inet.ProtoTCP, e.tcp)
	l.Register(inet.ProtoICMPv6, e.ic6)
	l.SetICMP(e.icmp)
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// packet builds a packet with header f (PayloadLen computed) and payload
// (extension headers and upper-layer data).
func packet(f Fields, payload []byte) []byte {
	b := make([]byte, HeaderLen+len(payload))
	f.PayloadLen = uint16(len(payload))
	if f.HopLimit == 0 {
		f.HopLimit = 64
	}
	f.Encode(b)
	copy(b[HeaderLen:], payload)
	return b
}

// udpFrom is a packet from src to dst with a pseudo UDP header and data.
func udpFrom(src, dst inet.Addr, data string) []byte {
	return packet(Fields{NextHeader: inet.ProtoUDP, Src: src, Dst: dst}, udpBody(data))
}

func udpBody(data string) []byte {
	return append([]byte{0x13, 0x88, 0, 53, 0, byte(8 + len(data)), 0, 0}, data...)
}

// ext builds an options header (Hop-by-Hop or Destination) with options
// opts, padded.
func ext(next uint8, opts ...byte) []byte {
	f := OptionsFields{NextHeader: next, Options: opts}
	b := make([]byte, f.Len())
	f.Encode(b)
	return b
}

// frag is a Fragment header followed by data.
func frag(next uint8, off int, more bool, id uint32, data []byte) []byte {
	f := FragmentFields{NextHeader: next, Offset: off, More: more, ID: id}
	b := make([]byte, 8, 8+len(data))
	f.Encode(b)
	return append(b, data...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// sl is a's 16 bytes as a slice.
func sl(a inet.Addr) []byte {
	b := a.As16()
	return b[:]
}

// input hands p to Input as a device with no offloads would.
func (e *env) input(src, dst inet.MAC, p []byte) { e.l.Input(src, dst, p, netif.RxMeta{}) }

func (f *fakeLink) Offloads() netif.Offloads { return netif.Offloads{} }
