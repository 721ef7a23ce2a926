package icmp

import (
	"bytes"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/transport"
)

func TestGoldenEchoWire(t *testing.T) {
	req := goldenPing[20:]
	m, err := ParseMessage(req)
	if err != nil || !m.ValidChecksum() || m.Type() != TypeEchoRequest || m.Code() != 0 || m.ID() != 0x2a || m.Seq() != 1 || m.Checksum() != 0xc097 || len(m.Body()) != 56 {
		t.Fatalf("parse: %v %x", err, m[:8])
	}
	b := make([]byte, len(req))
	f := Fields{Type: TypeEchoRequest, Rest: Echo(0x2a, 1), Body: req[8:]}
	if n, err := f.Encode(b); n != len(req) || err != nil || f.Len() != len(req) || !bytes.Equal(b, req) {
		t.Errorf("encode request %x", b)
	}
	if got := m.Fields(); got.Type != f.Type || got.Code != 0 || got.Rest != f.Rest || !bytes.Equal(got.Body, f.Body) {
		t.Errorf("Fields() = %+v", got)
	}
	if n, err := (&Fields{Type: TypeEchoReply, Rest: Echo(0x2a, 1), Body: req[8:]}).Encode(b); n != len(req) || err != nil || !bytes.Equal(b, goldenReply) {
		t.Errorf("encode reply %x", b)
	}
	if _, err := (&Fields{}).Encode(b[:7]); err != inet.ErrBufTooSmall {
		t.Error("short buffer")
	}
	if _, err := ParseMessage(req[:7]); err != ErrShort {
		t.Error("short message parsed")
	}
}

func TestEchoReply(t *testing.T) {
	e := newEnv(t, Config{})
	e.ip.Input(peerMAC, ourMAC, goldenPing, netif.RxMeta{})
	h, m := e.lastICMP(t)
	if !bytes.Equal(m, goldenReply) {
		t.Errorf("reply %x\nwant  %x", []byte(m), goldenReply)
	}
	if h.Src() != ourAddr || h.Dst() != peerAddr || e.link.out[0].next != peerAddr || h.TTL() != 64 {
		t.Errorf("reply header %x", h[:20])
	}
	if s := e.icmp.StatsLocked(); s.EchoRequestsIn != 1 || s.EchoRepliesOut != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestEchoReplyFragmented(t *testing.T) {
	e := newEnv(t, Config{})
	m := make([]byte, 4008)
	(&Fields{Type: TypeEchoRequest, Rest: Echo(7, 9), Body: seq(4000)}).Encode(m)

	for off := 0; off < len(m); off += 1480 {
		end := min(off+1480, len(m))
		f := datagram(ipv4.Fields{Protocol: 1, Src: peerAddr, Dst: ourAddr, ID: 3, FragOffset: off, MF: end < len(m)}, m[off:end])
		e.ip.Input(peerMAC, ourMAC, f, netif.RxMeta{})
	}
	if len(e.link.out) != 3 {
		t.Fatalf("%d datagrams sent, ip %+v", len(e.link.out), e.ip.StatsLocked())
	}
	// Reassemble our reply in the peer's layer and check the data.
	peer := newEnv(t, Config{})
	peer.ip.SetAddr(inet.Prefix4{Addr: peerAddr, Bits: 24})
	var got []byte
	peer.icmp.cfg.OnEchoReply = func(from inet.Addr4, id, sq uint16, data []byte) {
		if from == ourAddr && id == 7 && sq == 9 {
			got = bytes.Clone(data)
		}
	}
	for _, o := range e.link.out {
		peer.ip.Input(ourMAC, peerMAC, o.data, netif.RxMeta{})
	}
	if !bytes.Equal(got, seq(4000)) {
		t.Errorf("reply data mismatch (%d bytes), peer %+v", len(got), peer.icmp.StatsLocked())
	}
}

func TestNoEchoToBroadcast(t *testing.T) {
	e := newEnv(t, Config{})
	m := make([]byte, 16)
	(&Fields{Type: TypeEchoRequest, Rest: Echo(1, 1), Body: seq(8)}).Encode(m)
	for _, dst := range []inet.Addr4{inet.IPv4Broadcast, inet.MustParseAddr4("10.0.2.255")} {
		e.ip.Input(peerMAC, inet.BroadcastMAC, datagram(ipv4.Fields{Protocol: 1, Src: peerAddr, Dst: dst}, m), netif.RxMeta{})
	}
	e.ip.Input(peerMAC, inet.BroadcastMAC, datagram(ipv4.Fields{Protocol: 1, Src: peerAddr, Dst: ourAddr}, m), netif.RxMeta{})
	if len(e.link.out) != 0 || e.icmp.StatsLocked().DropBroadcastEcho != 3 {
		t.Errorf("sent %d, stats %+v", len(e.link.out), e.icmp.StatsLocked())
	}
	e.ip.Input(peerMAC, ourMAC, datagram(ipv4.Fields{Protocol: 1, Src: peerAddr, Dst: ourAddr}, m), netif.RxMeta{})
	if len(e.link.out) != 1 {
		t.Error("unicast echo not answered")
	}
}

func TestInputDrops(t *testing.T) {
	e := newEnv(t, Config{})
	bad := bytes.Clone(goldenPing)
	bad[30]++
	e.ip.Input(peerMAC, ourMAC, bad, netif.RxMeta{})
	e.ip.Input(peerMAC, ourMAC, datagram(ipv4.Fields{Protocol: 1, Src: peerAddr, Dst: ourAddr}, []byte{8, 0, 0xf7, 0xff, 0, 0, 0}), netif.RxMeta{})
	e.ip.Input(peerMAC, ourMAC, icmpFrom(peerAddr, ourAddr, 13, 0, 0, seq(12)), netif.RxMeta{}) // timestamp
	s := e.icmp.StatsLocked()
	if len(e.link.out) != 0 || s.DropChecksum != 1 || s.DropShort != 1 || s.DropUnknownType != 1 {
		t.Errorf("sent %d, stats %+v", len(e.link.out), s)
	}
}

// sentUDP is a datagram we sent to far, as a router would quote it.
func sentUDP(n int) []byte {
	udp := []byte{0x30, 0x39, 0, 53, 0, 16, 0xab, 0xcd}
	return datagram(ipv4.Fields{Protocol: inet.ProtoUDP, Src: ourAddr, Dst: farAddr, ID: 77}, append(udp, seq(n)...))
}

func TestErrorsDelivered(t *testing.T) {
	e := newEnv(t, Config{})
	orig := sentUDP(100)
	cases := []struct {
		typ, code uint8
		rest      uint32
		quote     []byte
		qtLen     int
		kind      transport.ErrorKind
		mtu       int
	}{
		{TypeDestUnreachable, CodePortUnreachable, 0, orig[:28], 8, transport.PortUnreachable, 0},
		{TypeTimeExceeded, CodeTTLExceeded, 0, orig[:28], 8, transport.TimeExceeded, 0},
		{TypeParamProblem, 0, 20 << 24, orig[:28], 8, transport.ParamProblem, 0},
		{TypeDestUnreachable, CodeFragNeeded, 1280, orig[:28], 8, transport.PacketTooBig, 1280},
		{TypeDestUnreachable, CodeFragNeeded, 0, orig[:28], 8, transport.PacketTooBig, 68},        // quoted total 128 -> plateau below is 68
		{TypeDestUnreachable, CodeFragNeeded, 40, orig[:28], 8, transport.PacketTooBig, 68},       // raised to 68
		{TypeDestUnreachable, CodeHostUnreachable, 0, orig[:24], 4, transport.HostUnreachable, 0}, // truncated transport
		{TypeDestUnreachable, CodeHostUnreachable, 0, orig[:20], 0, transport.HostUnreachable, 0},
		{TypeDestUnreachable, CodeHostUnreachable, 0, orig, 108, transport.HostUnreachable, 0}, // whole datagram quoted
	}
	for i, c := range cases {
		e.ip.Input(peerMAC, ourMAC, icmpFrom(gwAddr, ourAddr, c.typ, c.code, c.rest, c.quote), netif.RxMeta{})
		if len(e.udp.errs) != i+1 {
			t.Fatalf("case %d not delivered: ip %+v icmp %+v", i, e.ip.StatsLocked(), e.icmp.StatsLocked())
		}
		g := e.udp.errs[i]
		if g.Kind != c.kind || g.From != inet.AddrFrom4(gwAddr) || g.Src != inet.AddrFrom4(ourAddr) || g.Dst != inet.AddrFrom4(farAddr) || g.Proto != inet.ProtoUDP || len(g.Quoted) != c.qtLen || g.MTU != c.mtu {
			t.Errorf("case %d: %+v", i, g)
		}
		if c.qtLen >= 8 && !bytes.Equal(g.Quoted[:8], orig[20:28]) {
			t.Errorf("case %d: transport %x", i, g.Quoted)
		}
	}
	// Fewer than 20 quoted bytes, or not IPv4: dropped.
	e.ip.Input(peerMAC, ourMAC, icmpFrom(gwAddr, ourAddr, 3, 1, 0, orig[:19]), netif.RxMeta{})
	v6 := bytes.Clone(orig[:28])
	v6[0] = 0x65
	e.ip.Input(peerMAC, ourMAC, icmpFrom(gwAddr, ourAddr, 3, 1, 0, v6), netif.RxMeta{})
	if len(e.udp.errs) != len(cases) || e.icmp.StatsLocked().DropBadQuote != 2 {
		t.Errorf("bad quotes: %+v", e.icmp.StatsLocked())
	}
	// Redirect and source quench are counted and ignored.
	e.ip.Input(peerMAC, ourMAC, icmpFrom(gwAddr, ourAddr, TypeRedirect, 1, 0, orig[:28]), netif.RxMeta{})
	if e.icmp.StatsLocked().ErrorsIn[TypeRedirect] != 1 || len(e.udp.errs) != len(cases) {
		t.Errorf("redirect: %+v", e.icmp.StatsLocked())
	}
}

// offending builds a datagram from src to dst that we could complain about.
func offending(src, dst inet.Addr4, proto uint8, off int, payload []byte) ipv4.Header {
	return ipv4.Header(datagram(ipv4.Fields{Protocol: proto, Src: src, Dst: dst, FragOffset: off}, payload))
}

func TestSendUnreachable(t *testing.T) {
	e := newEnv(t, Config{})
	o := offending(peerAddr, ourAddr, 99, 0, seq(40))
	e.icmp.SendUnreachable(CodeProtoUnreachable, o)
	h, m := e.lastICMP(t)
	if h.Src() != ourAddr || h.Dst() != peerAddr || m.Type() != 3 || m.Code() != 2 || m.Rest() != 0 {
		t.Errorf("header %x msg %x", h[:20], m[:8])
	}
	if !bytes.Equal(m.Body(), o[:28]) {
		t.Errorf("quote %x, want header + 8 bytes", m.Body())
	}
	// Larger quote configured.
	e = newEnv(t, Config{Quote: 1000})
	big := offending(peerAddr, ourAddr, 99, 0, seq(1000))
	e.icmp.SendUnreachable(CodeProtoUnreachable, big)
	if _, m := e.lastICMP(t); !bytes.Equal(m.Body(), big[:20+MaxQuote]) || len(m)+20 != 576 {
		t.Errorf("big quote %d bytes", len(m.Body()))
	}
}

func TestUnreachableRules(t *testing.T) {
	echoReq := make([]byte, 16)
	(&Fields{Type: TypeEchoRequest, Body: seq(8)}).Encode(echoReq)
	errMsg := make([]byte, 36)
	(&Fields{Type: TypeDestUnreachable, Code: 3, Rest: 0, Body: seq(28)}).Encode(errMsg)
	tests := []struct {
		name string
		o    ipv4.Header
		ok   bool
	}{
		{"plain", offending(peerAddr, ourAddr, 99, 0, seq(8)), true},
		{"about echo request", offending(peerAddr, ourAddr, 1, 0, echoReq), true},
		{"about an ICMP error", offending(peerAddr, ourAddr, 1, 0, errMsg), false},
		{"about empty ICMP", offending(peerAddr, ourAddr, 1, 0, nil), false},
		{"to broadcast", offending(peerAddr, inet.IPv4Broadcast, 99, 0, seq(8)), false},
		{"to subnet broadcast", offending(peerAddr, inet.MustParseAddr4("10.0.2.255"), 99, 0, seq(8)), false},
		{"to multicast", offending(peerAddr, inet.MustParseAddr4("224.0.0.1"), 99, 0, seq(8)), false},
		{"from 0.0.0.0", offending(inet.IPv4Unspecified, ourAddr, 99, 0, seq(8)), false},
		{"from broadcast", offending(inet.IPv4Broadcast, ourAddr, 99, 0, seq(8)), false},
		{"from subnet broadcast", offending(inet.MustParseAddr4("10.0.2.255"), ourAddr, 99, 0, seq(8)), false},
		{"from multicast", offending(inet.MustParseAddr4("239.1.1.1"), ourAddr, 99, 0, seq(8)), false},
		{"from loopback", offending(inet.MustParseAddr4("127.0.0.1"), ourAddr, 99, 0, seq(8)), false},
		{"from class E", offending(inet.MustParseAddr4("240.1.2.3"), ourAddr, 99, 0, seq(8)), false},
		{"from this-network host", offending(inet.MustParseAddr4("0.1.2.3"), ourAddr, 99, 0, seq(8)), false},
		{"non-first fragment", offending(peerAddr, ourAddr, 99, 1480, seq(8)), false},
		{"garbage", ipv4.Header(seq(10)), false},
	}
	for _, tc := range tests {
		e := newEnv(t, Config{})
		e.icmp.SendUnreachable(CodeProtoUnreachable, tc.o)
		if sent := len(e.link.out) == 1; sent != tc.ok {
			t.Errorf("%s: sent %v, want %v", tc.name, sent, tc.ok)
		}
	}
	// Through ip: a protocol nobody serves.
	e := newEnv(t, Config{})
	e.ip.Input(peerMAC, ourMAC, offending(peerAddr, ourAddr, 99, 0, seq(8)), netif.RxMeta{})
	if _, m := e.lastICMP(t); m.Type() != 3 || m.Code() != 2 {
		t.Errorf("protocol unreachable: %x", m[:8])
	}
	// Through ip from a class E source (RFC 1122 §3.2.2): nothing. The IP
	// layer drops it as an invalid source before any transport or ICMP
	// sees it; mayReport refuses it as well (the table above).
	for _, src := range []string{"240.1.2.3", "255.255.255.254"} {
		e = newEnv(t, Config{})
		e.ip.Input(peerMAC, ourMAC, offending(inet.MustParseAddr4(src), ourAddr, 99, 0, seq(8)), netif.RxMeta{})
		if len(e.link.out) != 0 {
			t.Errorf("protocol unreachable sent to class E source %s", src)
		}
		if st := e.ip.StatsLocked(); st.DropSource != 1 || st.DropProtocol != 0 {
			t.Errorf("class E source %s: not dropped as a bad source: %+v", src, st)
		}
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, Config{Rate: 10, Burst: 5})
	o := offending(peerAddr, ourAddr, 99, 0, seq(8))
	for i := 0; i < 20; i++ {
		e.icmp.SendUnreachable(2, o)
	}
	if len(e.link.out) != 5 || e.icmp.StatsLocked().RateLimited != 15 {
		t.Fatalf("burst: sent %d, %+v", len(e.link.out), e.icmp.StatsLocked())
	}
	e.clk.Advance(250 * time.Millisecond) // 2.5 tokens
	for i := 0; i < 5; i++ {
		e.icmp.SendUnreachable(2, o)
	}
	if len(e.link.out) != 7 {
		t.Fatalf("after 250ms: sent %d", len(e.link.out))
	}
	e.clk.Advance(50 * time.Millisecond) // the half token completes
	e.icmp.SendUnreachable(2, o)
	e.icmp.SendUnreachable(2, o)
	if len(e.link.out) != 8 {
		t.Fatalf("after 300ms: sent %d", len(e.link.out))
	}
	e.clk.Advance(time.Hour) // refills to the burst, no more
	for i := 0; i < 10; i++ {
		e.icmp.SendUnreachable(2, o)
	}
	if len(e.link.out) != 13 || e.icmp.StatsLocked().ErrorsOut[3] != 13 {
		t.Fatalf("after an hour: sent %d", len(e.link.out))
	}
}

func TestReassemblyTimeExceeded(t *testing.T) {
	e := newEnv(t, Config{})
	first := datagram(ipv4.Fields{Protocol: inet.ProtoUDP, Src: peerAddr, Dst: ourAddr, ID: 5, MF: true}, seq(800))
	e.ip.Input(peerMAC, ourMAC, first, netif.RxMeta{})
	e.clk.Advance(31 * time.Second)
	h, m := e.lastICMP(t)
	if h.Dst() != peerAddr || m.Type() != TypeTimeExceeded || m.Code() != CodeReasmExceeded || !bytes.Equal(m.Body(), first[:28]) {
		t.Errorf("time exceeded %x", []byte(m))
	}
}

func TestEchoAllocs(t *testing.T) {
	e := newEnv(t, Config{})
	e.link.discard = true
	n := testing.AllocsPerRun(1000, func() { e.ip.Input(peerMAC, ourMAC, goldenPing, netif.RxMeta{}) })
	if n != 0 {
		t.Errorf("echo allocates %v", n)
	}
	if e.icmp.StatsLocked().EchoRepliesOut < 1000 {
		t.Errorf("replies %d", e.icmp.StatsLocked().EchoRepliesOut)
	}
}
