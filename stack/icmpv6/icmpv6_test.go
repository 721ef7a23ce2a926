package icmpv6

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/transport"
)

// goldenRequest and goldenReply are the ICMPv6 messages of an echo Linux
// sent and answered (ping -6 -s 16 ::1, captured on lo).
var (
	goldenRequest = []byte{
		0x80, 0x00, 0x65, 0x05, 0x7f, 0x47, 0x00, 0x01,
		0x08, 0x77, 0x17, 0x6b, 0x00, 0x00, 0x00, 0x00, 0xb7, 0x80, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
		0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
		0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
	}
	goldenReply = append([]byte{0x81, 0x00, 0x64, 0x05}, goldenRequest[4:]...)
)

func TestGoldenEchoWire(t *testing.T) {
	lo := inet.IPv6Loopback
	m, err := ParseMessage(goldenRequest)
	if err != nil || !m.ValidChecksum(lo, lo) || m.Type() != TypeEchoRequest || m.Code() != 0 || m.ID() != 0x7f47 || m.Seq() != 1 ||
		m.Checksum() != 0x6505 || len(m.Body()) != 56 {
		t.Fatalf("parse: %v %x", err, m[:8])
	}
	if m.ValidChecksum(lo, ourAddr) {
		t.Error("checksum holds for another pseudo-header")
	}
	f := Fields{Type: TypeEchoRequest, Rest: Echo(0x7f47, 1), Body: goldenRequest[8:]}
	if got := m.Fields(); got.Type != f.Type || got.Rest != f.Rest || !bytes.Equal(got.Body, f.Body) {
		t.Errorf("Fields() = %+v", got)
	}
	b := make([]byte, len(goldenRequest))
	if n, err := f.Encode(b); n != len(b) || err != nil || f.Len() != n || b[2] != 0 || b[3] != 0 {
		t.Fatalf("encode %x %v", b, err)
	}
	SetChecksum(b, lo, lo, 0, 0)
	if !bytes.Equal(b, goldenRequest) {
		t.Errorf("request %x", b)
	}
	// The reply with the body carried apart.
	r := Fields{Type: TypeEchoReply, Rest: Echo(0x7f47, 1)}
	h := make([]byte, HeaderLen)
	r.Encode(h)
	body := goldenRequest[8:]
	var sum uint32
	for i := 0; i < len(body); i += 2 {
		sum += uint32(body[i])<<8 | uint32(body[i+1])
	}
	SetChecksum(h, lo, lo, len(body), sum)
	if !bytes.Equal(append(h, body...), goldenReply) {
		t.Errorf("reply %x", h)
	}
	if _, err := ParseMessage(goldenRequest[:7]); err != ErrShort {
		t.Error("short message")
	}
	if _, err := f.Encode(b[:9]); err != inet.ErrBufTooSmall {
		t.Error("short buffer")
	}
}

func TestEchoReply(t *testing.T) {
	e := newEnv(t, Config{})
	req := icmpFrom(peerAddr, ourAddr, TypeEchoRequest, 0, Echo(7, 9), seq(100))
	e.input(peerMAC, ourMAC, req)
	h, m := e.lastICMP(t)
	if h.Src() != ourAddr || h.Dst() != peerAddr || h.HopLimit() != 64 || m.Type() != TypeEchoReply || m.ID() != 7 || m.Seq() != 9 || !bytes.Equal(m.Body(), seq(100)) {
		t.Errorf("reply %x", []byte(h))
	}
	// To all-nodes: answered from the link-local address.
	e.input(peerMAC, mcastMAC, icmpFrom(peerLL, inet.IPv6AllNodes, TypeEchoRequest, 0, Echo(7, 10), seq(8)))
	if h, m := e.lastICMP(t); h.Src() != ourLL || h.Dst() != peerLL || m.Seq() != 10 {
		t.Errorf("multicast echo reply %x", []byte(h))
	}
	e = newEnv(t, Config{IgnoreMulticastEcho: true})
	e.input(peerMAC, mcastMAC, icmpFrom(peerLL, inet.IPv6AllNodes, TypeEchoRequest, 0, Echo(7, 10), seq(8)))
	if len(e.link.out) != 0 || e.icmp.StatsLocked().DropMulticastEcho != 1 {
		t.Error("multicast echo answered")
	}
}

func TestInputDrops(t *testing.T) {
	e := newEnv(t, Config{})
	bad := icmpFrom(peerAddr, ourAddr, TypeEchoRequest, 0, 0, seq(8))
	bad[len(bad)-1]++
	e.input(peerMAC, ourMAC, bad)
	e.input(peerMAC, ourMAC, packet(peerAddr, ourAddr, inet.ProtoICMPv6, []byte{128, 0, 0, 0}))
	e.input(peerMAC, ourMAC, icmpFrom(peerAddr, ourAddr, 200, 0, 0, nil))
	e.input(peerMAC, ourMAC, icmpFrom(peerAddr, ourAddr, 100, 0, 0, nil))
	// Echo from :: or from ourselves: only ND and MLD may.
	e.input(peerMAC, mcastMAC, icmpFrom(inet.IPv6Unspecified, inet.IPv6AllNodes, TypeEchoRequest, 0, 0, nil))
	e.input(peerMAC, mcastMAC, icmpFrom(ourAddr, inet.IPv6AllNodes, TypeEchoRequest, 0, 0, nil))
	s := e.icmp.StatsLocked()
	if len(e.link.out) != 0 || s.DropChecksum != 1 || s.DropShort != 1 || s.DropUnknownType != 1 || s.DropUnknownError != 1 || s.DropSource != 2 {
		t.Errorf("sent %d, stats %+v", len(e.link.out), s)
	}
}

func TestRegister(t *testing.T) {
	e := newEnv(t, Config{})
	var got []uint8
	var frag []bool
	h := func(p *transport.Packet, m Message) {
		got = append(got, m.Type())
		frag = append(frag, p.Fragmented)
		if p.TTL != 255 {
			t.Errorf("hop limit %d", p.TTL)
		}
	}
	for _, typ := range []uint8{TypeNeighborSolicit, TypeMLDv2Report} {
		if err := e.icmp.Register(typ, h); err != nil {
			t.Fatal(err)
		}
	}
	for _, typ := range []uint8{TypeDestUnreachable, TypeEchoRequest, TypeEchoReply, 127} {
		if e.icmp.Register(typ, h) != ErrType {
			t.Errorf("type %d registered", typ)
		}
	}
	ns := func(src, dst inet.Addr) []byte {
		p := icmpFrom(src, dst, TypeNeighborSolicit, 0, 0, ourAddrBytes())
		p[7] = 255
		return p
	}
	snm := inet.SolicitedNode(ourAddr)
	e.ip.JoinGroupLocked(snm)
	e.input(peerMAC, mcastMAC, ns(inet.IPv6Unspecified, snm)) // DAD from ::
	e.input(peerMAC, mcastMAC, ns(ourAddr, snm))              // a duplicate of ours
	e.input(peerMAC, ourMAC, ns(peerAddr, ourAddr))
	bad := ns(peerAddr, ourAddr)
	bad[len(bad)-1]++ // checksum: not passed on
	e.input(peerMAC, ourMAC, bad)
	if len(got) != 3 || e.icmp.StatsLocked().Handled != 3 {
		t.Errorf("handled %v, %+v", got, e.icmp.StatsLocked())
	}
	e.icmp.Register(TypeNeighborSolicit, nil)
	e.input(peerMAC, ourMAC, ns(peerAddr, ourAddr))
	if len(got) != 3 || e.icmp.StatsLocked().DropUnknownType != 1 {
		t.Error("unregistered handler called")
	}
}

// sentUDP is a UDP packet we sent to far, as a router would quote it,
// behind a Destination Options header.
func sentUDP(n int) []byte {
	udp := []byte{0x30, 0x39, 0, 53, 0, byte(8 + n), 0xab, 0xcd}
	dopts := []byte{inet.ProtoUDP, 0, 1, 4, 0, 0, 0, 0}
	return packet(ourAddr, farAddr, inet.ProtoDestOpts, append(append(dopts, udp...), seq(n)...))
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
		{TypeDestUnreachable, CodePortUnreachable, 0, orig, 108, transport.PortUnreachable, 0},
		{TypeDestUnreachable, CodeNoRoute, 0, orig[:56], 8, transport.NetUnreachable, 0},
		{TypeDestUnreachable, CodeAddrUnreachable, 0, orig[:52], 4, transport.HostUnreachable, 0},
		{TypeDestUnreachable, CodeProhibited, 0, orig[:48], 0, transport.Prohibited, 0},
		{TypeDestUnreachable, CodeRejectRoute, 0, orig[:56], 8, transport.Prohibited, 0},
		{TypeTimeExceeded, CodeHopLimit, 0, orig[:56], 8, transport.TimeExceeded, 0},
		{TypeParamProblem, CodeHeaderField, 6, orig[:56], 8, transport.ParamProblem, 0},
		{TypeParamProblem, CodeUnknownNext, 40, orig[:56], 8, transport.ProtoUnreachable, 0},
		{TypePacketTooBig, 0, 1400, orig[:56], 8, transport.PacketTooBig, 1400},
		{TypePacketTooBig, 0, 9000, orig[:56], 8, transport.PacketTooBig, 1500}, // capped at the link's
	}
	for i, c := range cases {
		e.input(peerMAC, ourMAC, icmpFrom(peerAddr, ourAddr, c.typ, c.code, c.rest, c.quote))
		if len(e.udp.errs) != i+1 {
			t.Fatalf("case %d not delivered: ip %+v icmp %+v", i, e.ip.StatsLocked(), e.icmp.StatsLocked())
		}
		g := e.udp.errs[i]
		if g.Kind != c.kind || g.From != peerAddr || g.Src != ourAddr || g.Dst != farAddr || g.Proto != inet.ProtoUDP || len(g.Quoted) != c.qtLen || g.MTU != c.mtu {
			t.Errorf("case %d: %+v", i, g)
		}
	}
	if got := e.ip.MTU(farAddr); got != 1400 {
		t.Errorf("path MTU %d after Packet Too Big 1400", got)
	}
	// Not deliverable: a PTB under 1280 (RFC 8201 §4), a quote shorter
	// than the IPv6 header, one not from us, one of a later fragment.
	e.input(peerMAC, ourMAC, icmpFrom(peerAddr, ourAddr, TypePacketTooBig, 0, 1279, orig[:56]))
	e.input(peerMAC, ourMAC, icmpFrom(peerAddr, ourAddr, TypeDestUnreachable, 0, 0, orig[:39]))
	notOurs := packet(peerAddr, farAddr, inet.ProtoUDP, seq(8))
	e.input(peerMAC, ourMAC, icmpFrom(peerAddr, ourAddr, TypeDestUnreachable, 0, 0, notOurs))
	later := packet(ourAddr, farAddr, inet.ProtoFragment, []byte{inet.ProtoUDP, 0, 0x05, 0xa9, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8})
	e.input(peerMAC, ourMAC, icmpFrom(peerAddr, ourAddr, TypeDestUnreachable, 0, 0, later))
	s := e.icmp.StatsLocked()
	if len(e.udp.errs) != len(cases) || s.DropPTBTooSmall != 1 || s.DropBadQuote != 1 || e.ip.StatsLocked().ControlErrorDrops != 2 {
		t.Errorf("bad errors: icmp %+v ip %+v", s, e.ip.StatsLocked())
	}
	if got := e.ip.MTU(farAddr); got != 1400 {
		t.Errorf("path MTU %d after a PTB of 1279", got)
	}
}

// offending is a packet from src to dst that we could complain about.
func offending(src, dst inet.Addr, nh uint8, payload []byte) ipv6.Header {
	return ipv6.Header(packet(src, dst, nh, payload))
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t, Config{})
	o := offending(peerAddr, ourAddr, 99, seq(2000))
	e.icmp.SendParamProblem(CodeUnknownNext, 6, o)
	h, m := e.lastICMP(t)
	if h.Src() != ourAddr || h.Dst() != peerAddr || m.Type() != TypeParamProblem || m.Code() != 1 || m.Rest() != 6 ||
		!bytes.Equal(m.Body(), o[:MaxQuote]) || len(h) != 1280 {
		t.Errorf("param problem %x (%d bytes)", []byte(h[:48]), len(h))
	}
	e.icmp.SendUnreachable(CodePortUnreachable, offending(peerLL, ourLL, inet.ProtoUDP, seq(8)))
	if h, m := e.lastICMP(t); h.Src() != ourLL || m.Type() != TypeDestUnreachable || m.Code() != 4 || len(m.Body()) != 48 {
		t.Errorf("port unreachable %x", []byte(h))
	}
	e = newEnv(t, Config{Quote: 100})
	e.icmp.SendTimeExceeded(CodeReasmTimeout, o)
	if _, m := e.lastICMP(t); m.Type() != TypeTimeExceeded || m.Code() != 1 || len(m.Body()) != 100 {
		t.Errorf("time exceeded %x", []byte(m))
	}
}

func TestErrorRules(t *testing.T) {
	echoReq := make([]byte, 16)
	(&Fields{Type: TypeEchoRequest}).Encode(echoReq)
	errMsg := make([]byte, 48)
	(&Fields{Type: TypeDestUnreachable}).Encode(errMsg)
	redirect := make([]byte, 40)
	(&Fields{Type: TypeRedirect}).Encode(redirect)
	opt10 := []byte{inet.ProtoUDP, 0, 0x9e, 0, 0, 0, 0, 0}
	opt11 := []byte{inet.ProtoUDP, 0, 0xde, 0, 0, 0, 0, 0}
	tests := []struct {
		name      string
		o         ipv6.Header
		typ, code uint8
		ptr       uint32
		ok        bool
	}{
		{"plain", offending(peerAddr, ourAddr, 99, seq(8)), TypeParamProblem, 1, 6, true},
		{"about echo request", offending(peerAddr, ourAddr, inet.ProtoICMPv6, echoReq), TypeParamProblem, 0, 0, true},
		{"about an ICMPv6 error", offending(peerAddr, ourAddr, inet.ProtoICMPv6, errMsg), TypeParamProblem, 0, 0, false},
		{"about an error behind options", offending(peerAddr, ourAddr, inet.ProtoDestOpts, append([]byte{58, 0, 1, 4, 0, 0, 0, 0}, errMsg...)), TypeParamProblem, 0, 0, false},
		{"about a redirect", offending(peerLL, ourLL, inet.ProtoICMPv6, redirect), TypeParamProblem, 0, 0, false},
		{"about empty ICMPv6", offending(peerAddr, ourAddr, inet.ProtoICMPv6, nil), TypeParamProblem, 0, 0, false},
		{"to multicast", offending(peerAddr, inet.IPv6AllNodes, 99, seq(8)), TypeParamProblem, 1, 6, false},
		{"to multicast, unreachable", offending(peerAddr, inet.IPv6AllNodes, inet.ProtoUDP, seq(8)), TypeDestUnreachable, 4, 0, false},
		{"to multicast, option 10", offending(peerAddr, inet.IPv6AllNodes, inet.ProtoDestOpts, opt10), TypeParamProblem, 2, 42, true},
		{"to multicast, option 11", offending(peerAddr, inet.IPv6AllNodes, inet.ProtoDestOpts, opt11), TypeParamProblem, 2, 42, false},
		{"to multicast, pointer past the end", offending(peerAddr, inet.IPv6AllNodes, inet.ProtoDestOpts, opt10), TypeParamProblem, 2, 4000, false},
		{"from ::", offending(inet.IPv6Unspecified, ourAddr, 99, seq(8)), TypeParamProblem, 1, 6, false},
		{"from multicast", offending(inet.MustParseAddr("ff02::2"), ourAddr, 99, seq(8)), TypeParamProblem, 1, 6, false},
		{"from ourselves", offending(ourAddr, ourAddr, 99, seq(8)), TypeParamProblem, 1, 6, false},
		{"from ::1", offending(inet.IPv6Loopback, ourAddr, 99, seq(8)), TypeParamProblem, 1, 6, false},
		{"from IPv4-mapped", offending(inet.MustParseAddr("::ffff:1.2.3.4"), ourAddr, 99, seq(8)), TypeParamProblem, 1, 6, false},
		{"garbage", ipv6.Header(seq(30)), TypeParamProblem, 1, 6, false},
	}
	for _, tc := range tests {
		e := newEnv(t, Config{})
		e.icmp.sendError(tc.typ, tc.code, tc.ptr, tc.o)
		if sent := len(e.link.out) == 1; sent != tc.ok {
			t.Errorf("%s: sent %v, want %v", tc.name, sent, tc.ok)
		}
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, Config{Rate: 10, Burst: 5})
	o := offending(peerAddr, ourAddr, 99, seq(8))
	for range 20 {
		e.icmp.SendParamProblem(1, 6, o)
	}
	if len(e.link.out) != 5 || e.icmp.StatsLocked().RateLimited != 15 {
		t.Fatalf("burst: sent %d, %+v", len(e.link.out), e.icmp.StatsLocked())
	}
	e.clk.Advance(250 * time.Millisecond) // 2.5 tokens
	for range 5 {
		e.icmp.SendParamProblem(1, 6, o)
	}
	if len(e.link.out) != 7 {
		t.Fatalf("after 250ms: sent %d", len(e.link.out))
	}
	// Multicast echo replies take tokens too.
	e.clk.Advance(time.Hour)
	for i := range 8 {
		e.input(peerMAC, mcastMAC, icmpFrom(peerLL, inet.IPv6AllNodes, TypeEchoRequest, 0, Echo(1, uint16(i)), nil))
	}
	if len(e.link.out) != 12 || e.icmp.StatsLocked().EchoRepliesOut != 5 {
		t.Fatalf("multicast echo: sent %d, %+v", len(e.link.out), e.icmp.StatsLocked())
	}
	// Unicast echo replies do not.
	for i := range 8 {
		e.input(peerMAC, ourMAC, icmpFrom(peerAddr, ourAddr, TypeEchoRequest, 0, Echo(1, uint16(i)), nil))
	}
	if len(e.link.out) != 20 {
		t.Fatalf("unicast echo: sent %d", len(e.link.out))
	}
}

func TestEchoAllocs(t *testing.T) {
	e := newEnv(t, Config{})
	e.link.discard = true
	req := icmpFrom(peerAddr, ourAddr, TypeEchoRequest, 0, Echo(7, 9), seq(56))
	n := testing.AllocsPerRun(1000, func() { e.input(peerMAC, ourMAC, req) })
	if n != 0 {
		t.Errorf("echo allocates %v", n)
	}
	if e.icmp.StatsLocked().EchoRepliesOut < 1000 {
		t.Errorf("replies %d", e.icmp.StatsLocked().EchoRepliesOut)
	}
}

// TestWriteFuzzSeeds writes the FuzzICMPv6 corpus under testdata/fuzz
// when MIRAGO_WRITE_SEEDS=1, and otherwise checks it is there.
func TestWriteFuzzSeeds(t *testing.T) {
	quote := sentUDP(100)
	mk := func(typ, code uint8, rest uint32, body []byte) []byte {
		b := make([]byte, 8+len(body))
		(&Fields{Type: typ, Code: code, Rest: rest, Body: body}).Encode(b)
		return b
	}
	seeds := map[string]struct {
		b          []byte
		fix, mcast bool
	}{
		"linux_echo_request": {goldenRequest, true, false},
		"echo_to_all_nodes":  {mk(TypeEchoRequest, 0, Echo(1, 2), seq(32)), true, true},
		"echo_reply":         {mk(TypeEchoReply, 0, Echo(1, 2), seq(32)), true, false},
		"port_unreachable":   {mk(TypeDestUnreachable, CodePortUnreachable, 0, quote), true, false},
		"packet_too_big":     {mk(TypePacketTooBig, 0, 1400, quote), true, false},
		"packet_too_big_low": {mk(TypePacketTooBig, 0, 576, quote), true, false},
		"param_problem":      {mk(TypeParamProblem, CodeUnknownNext, 40, quote), true, false},
		"time_exceeded":      {mk(TypeTimeExceeded, CodeReasmTimeout, 0, quote[:60]), true, false},
		"neighbor_advert":    {mk(TypeNeighborAdvert, 0, 0x60000000, ourAddrBytes()[4:]), true, true},
		"unknown_error":      {mk(100, 0, 0, quote), true, false},
		"bad_checksum":       {mk(TypeEchoRequest, 0, 0, seq(8)), false, false},
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzICMPv6")
	for name, s := range seeds {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\nbool(%v)\n", s.b, s.fix, s.mcast)
		path := filepath.Join(dir, name)
		if os.Getenv("MIRAGO_WRITE_SEEDS") == "1" {
			os.MkdirAll(dir, 0o755)
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("%s: missing or stale (MIRAGO_WRITE_SEEDS=1 rewrites it): %v", path, err)
		}
	}
}

// A port unreachable each way over a TAP (TestKernelPortUnreachable6's
// capture, IPv6 packets without the Ethernet header): Linux's about our
// UDP datagram, and ours about the kernel's, which Linux took (its
// socket reported ECONNREFUSED).
var (
	tapKernel = inet.MustParseAddr("fd00:199:6b::7cab:72ff:fed8:3c97")
	tapOurs   = inet.MustParseAddr("fd00:199:6b::3c35:81ff:fe36:7bcd")

	linuxPortUnreachable = []byte{
		0x60, 0x09, 0x6a, 0xe4, 0x00, 0x45, 0x3a, 0x40, 0xfd, 0x00, 0x01, 0x99, 0x00, 0x6b, 0x00, 0x00,
		0x7c, 0xab, 0x72, 0xff, 0xfe, 0xd8, 0x3c, 0x97, 0xfd, 0x00, 0x01, 0x99, 0x00, 0x6b, 0x00, 0x00,
		0x3c, 0x35, 0x81, 0xff, 0xfe, 0x36, 0x7b, 0xcd, 0x01, 0x04, 0x2b, 0xef, 0x00, 0x00, 0x00, 0x00,
		0x60, 0x00, 0x00, 0x00, 0x00, 0x15, 0x11, 0x40, 0xfd, 0x00, 0x01, 0x99, 0x00, 0x6b, 0x00, 0x00,
		0x3c, 0x35, 0x81, 0xff, 0xfe, 0x36, 0x7b, 0xcd, 0xfd, 0x00, 0x01, 0x99, 0x00, 0x6b, 0x00, 0x00,
		0x7c, 0xab, 0x72, 0xff, 0xfe, 0xd8, 0x3c, 0x97, 0xc3, 0x7a, 0x8b, 0x2f, 0x00, 0x15, 0xcc, 0x39,
		0x61, 0x6e, 0x79, 0x6f, 0x6e, 0x65, 0x20, 0x74, 0x68, 0x65, 0x72, 0x65, 0x3f,
	}
	ourPortUnreachable = []byte{
		0x60, 0x00, 0x00, 0x00, 0x00, 0x3d, 0x3a, 0x40, 0xfd, 0x00, 0x01, 0x99, 0x00, 0x6b, 0x00, 0x00,
		0x3c, 0x35, 0x81, 0xff, 0xfe, 0x36, 0x7b, 0xcd, 0xfd, 0x00, 0x01, 0x99, 0x00, 0x6b, 0x00, 0x00,
		0x7c, 0xab, 0x72, 0xff, 0xfe, 0xd8, 0x3c, 0x97, 0x01, 0x04, 0xda, 0x91, 0x00, 0x00, 0x00, 0x00,
		0x60, 0x04, 0xb9, 0x6c, 0x00, 0x0d, 0x11, 0x40, 0xfd, 0x00, 0x01, 0x99, 0x00, 0x6b, 0x00, 0x00,
		0x7c, 0xab, 0x72, 0xff, 0xfe, 0xd8, 0x3c, 0x97, 0xfd, 0x00, 0x01, 0x99, 0x00, 0x6b, 0x00, 0x00,
		0x3c, 0x35, 0x81, 0xff, 0xfe, 0x36, 0x7b, 0xcd, 0x8f, 0x13, 0x00, 0x09, 0x00, 0x0d, 0x61, 0x7c,
		0x6b, 0x6e, 0x6f, 0x63, 0x6b,
	}
)

func TestGoldenPortUnreachable(t *testing.T) {
	// Linux's: parsed, mapped, re-encoded byte for byte.
	h, err := ipv6.ParseHeader(linuxPortUnreachable)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessage(h.Payload())
	if err != nil || !m.ValidChecksum(tapKernel, tapOurs) || m.Type() != TypeDestUnreachable || m.Code() != CodePortUnreachable || m.Rest() != 0 {
		t.Fatalf("Linux's message %x: %v", []byte(m), err)
	}
	if k, ok := ErrorKind(m.Type(), m.Code()); !ok || k != transport.PortUnreachable {
		t.Errorf("kind %v", k)
	}
	b := make([]byte, len(m))
	f := m.Fields()
	f.Encode(b)
	SetChecksum(b, tapKernel, tapOurs, 0, 0)
	if !bytes.Equal(b, m) {
		t.Errorf("re-encoded %x\nLinux's     %x", b, []byte(m))
	}
	// Received by a stack at tapOurs, it reaches the UDP socket's error.
	e := newEnv(t, Config{})
	e.ip.AddAddrLocked(inet.Prefix6{Addr: tapOurs, Bits: 64}, ipv6.StatePreferred)
	e.input(peerMAC, ourMAC, linuxPortUnreachable)
	if len(e.udp.errs) != 1 || e.udp.errs[0].Kind != transport.PortUnreachable || e.udp.errs[0].Src != tapOurs || e.udp.errs[0].Dst != tapKernel {
		t.Errorf("errors %+v", e.udp.errs)
	}
	// Ours: the kernel's datagram to a closed port gives the same bytes.
	e = newEnv(t, Config{})
	e.ip.AddAddrLocked(inet.Prefix6{Addr: tapOurs, Bits: 64}, ipv6.StatePreferred)
	e.ip.Register(inet.ProtoUDP, closedPorts{e.ip})
	e.input(peerMAC, ourMAC, ourPortUnreachable[48:])
	if len(e.link.out) != 1 || !bytes.Equal(e.link.out[0].data, ourPortUnreachable) {
		t.Errorf("sent %d packets, want %x", len(e.link.out), ourPortUnreachable)
		for _, o := range e.link.out {
			t.Errorf("sent %x", o.data)
		}
	}
}

// closedPorts is a UDP with no socket: every datagram gets a port
// unreachable.
type closedPorts struct{ ip *ipv6.Layer }

func (c closedPorts) Deliver(p *transport.Packet)   { c.ip.PortUnreachable(p) }
func (closedPorts) Error(e *transport.ControlError) {}
