package stacktest

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"bytes"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/arp"
	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/icmp"
	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

var (
	usMAC   = inet.MAC{2, 0, 0, 0, 0, 1}
	peerMAC = inet.MAC{2, 0, 0, 0, 0, 2}
	usIP    = inet.Addr4{10, 0, 0, 1}
	peerIP  = inet.Addr4{10, 0, 0, 2}
)

// testDev records what the stack sends; mangle, if set, may change or
// drop (return nil) each frame first.
type testDev struct {
	mu     sync.Mutex
	h      netif.Handler
	sent   [][]byte
	mangle func([]byte) []byte
}

func (d *testDev) MAC() inet.MAC              { return usMAC }
func (d *testDev) MTU() int                   { return 1500 }
func (d *testDev) Headroom() int              { return 0 }
func (d *testDev) LinkUp() bool               { return true }
func (d *testDev) Stats() netif.Stats         { return netif.Stats{} }
func (d *testDev) Offloads() netif.Offloads   { return netif.Offloads{} }
func (d *testDev) Close() error               { return nil }
func (d *testDev) SetHandler(h netif.Handler) { d.mu.Lock(); d.h = h; d.mu.Unlock() }
func (d *testDev) Transmit(b *pkt.Buf) error {
	f := make([]byte, b.Len())
	b.CopyTo(f)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mangle != nil {
		f = d.mangle(f)
	}
	if f != nil {
		d.sent = append(d.sent, f)
	}
	return nil
}
func (d *testDev) inject(f []byte) {
	d.mu.Lock()
	h := d.h
	d.mu.Unlock()
	h(f, netif.RxMeta{})
}
func (d *testDev) take() [][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.sent
	d.sent = nil
	return s
}

// oracleFor builds a stack with a listener on port 7 and its oracle.
func oracleFor(t *testing.T) (*Oracle, *testDev, *stack.Stack) {
	dev := &testDev{}
	vc := clock.NewVirtual(time.Unix(1_700_000_000, 0))
	cfg := FuzzLimits(stack.Config{Addr: inet.Prefix4{Addr: usIP, Bits: 24}, Clock: vc})
	s, err := stack.New(dev, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.TCP().Listen(7); err != nil {
		t.Fatal(err)
	}
	return &Oracle{Stack: s, Config: cfg, MAC: usMAC, IP: usIP, PeerMAC: peerMAC, PeerIP: peerIP,
		Inject: dev.inject, Take: dev.take, Advance: vc.Advance, Listeners: []uint16{7}, ClosedPort: 9}, dev, s
}

// fatalTB records the first Fatal instead of failing the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fatalTB) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }

// checkFails runs o.Check and returns its failure ("" if it passed).
func checkFails(t *testing.T, o *Oracle) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.Check(f)
	}()
	<-done
	return f.msg
}

func TestOracleHealthyStack(t *testing.T) {
	o, _, s := oracleFor(t)
	for i := 0; i < 3; i++ {
		if msg := checkFails(t, o); msg != "" {
			t.Fatalf("check %d: %s", i, msg)
		}
	}
	if st := s.Stats(); st.ICMP.EchoRepliesOut != 3 || st.TCP.ResetsSent != 3 {
		t.Fatalf("probes did not reach the stack: %+v %+v", st.ICMP, st.TCP)
	}
}

func TestOracleFailures(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		break_     func(o *Oracle, d *testDev, s *stack.Stack)
	}{
		{"listener gone", "no SYN-ACK from listening port 8", func(o *Oracle, d *testDev, s *stack.Stack) {
			o.Listeners = []uint16{8}
			o.ClosedPort = 0
		}},
		{"port not closed", "no RST from closed port 7", func(o *Oracle, d *testDev, s *stack.Stack) {
			o.Listeners, o.ClosedPort = nil, 7
		}},
		{"dead", "no echo reply", func(o *Oracle, d *testDev, s *stack.Stack) {
			d.mangle = func([]byte) []byte { return nil }
		}},
		{"bad IPv4 checksum", "bad header checksum", func(o *Oracle, d *testDev, s *stack.Stack) {
			d.mangle = func(f []byte) []byte {
				if binary.BigEndian.Uint16(f[12:]) == inet.EtherTypeIPv4 {
					f[ethernet.HeaderLen+10] ^= 1
				}
				return f
			}
		}},
		{"bad TCP checksum", "tcp: bad checksum", func(o *Oracle, d *testDev, s *stack.Stack) {
			d.mangle = func(f []byte) []byte {
				if binary.BigEndian.Uint16(f[12:]) == inet.EtherTypeIPv4 && f[ethernet.HeaderLen+9] == inet.ProtoTCP {
					f[len(f)-1] ^= 0x40 // the segment's last byte
				}
				return f
			}
		}},
		{"bound", "ARP cache entries 2 > 1", func(o *Oracle, d *testDev, s *stack.Stack) {
			o.Config.ARP.CacheSize = 1
			// A request aimed at us makes the stack learn its sender.
			f := make([]byte, ethernet.HeaderLen+arp.PacketLen)
			other := inet.MAC{2, 0, 0, 0, 0, 3}
			(&ethernet.Fields{Dst: inet.BroadcastMAC, Src: other, Type: inet.EtherTypeARP}).Encode(f)
			(&arp.Fields{Op: arp.OpRequest, SenderMAC: other, SenderIP: inet.Addr4{10, 0, 0, 3}, TargetIP: usIP}).Encode(f[ethernet.HeaderLen:])
			d.inject(f)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, d, s := oracleFor(t)
			if msg := checkFails(t, o); msg != "" { // a first round fills the ARP cache with the peer
				t.Fatal(msg)
			}
			tc.break_(o, d, s)
			msg := checkFails(t, o)
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("oracle said %q, want %q", msg, tc.want)
			}
		})
	}
}

// frame builds an IPv4 frame from us with the given transport payload.
func frame(dst inet.Addr4, proto uint8, id uint16, mf bool, off int, payload []byte) []byte {
	f := make([]byte, ethernet.HeaderLen+ipv4.HeaderLen+len(payload))
	(&ethernet.Fields{Dst: peerMAC, Src: usMAC, Type: inet.EtherTypeIPv4}).Encode(f)
	(&ipv4.Fields{TotalLen: uint16(ipv4.HeaderLen + len(payload)), ID: id,
		MF: mf, FragOffset: off, TTL: 64, Protocol: proto, Src: usIP, Dst: dst}).Encode(f[ethernet.HeaderLen:])
	copy(f[ethernet.HeaderLen+ipv4.HeaderLen:], payload)
	return f
}

func echo(n int) []byte {
	m := make([]byte, icmp.HeaderLen+n)
	for i := range m[icmp.HeaderLen:] {
		m[icmp.HeaderLen+i] = byte(i)
	}
	(&icmp.Fields{Type: icmp.TypeEchoReply, Rest: icmp.Echo(1, 1), Body: m[icmp.HeaderLen:]}).Encode(m)
	return m
}

func TestCheckFrames(t *testing.T) {
	whole := echo(2000)
	unreach := func(quoted []byte) []byte {
		m := make([]byte, icmp.HeaderLen+len(quoted))
		(&icmp.Fields{Type: 3, Code: 3, Rest: 0, Body: quoted}).Encode(m)
		return m
	}
	quotedErr := frame(usIP, inet.ProtoICMP, 9, false, 0, unreach(nil))[ethernet.HeaderLen:]
	for _, tc := range []struct {
		name   string
		frames [][]byte
		want   string // "" for no error
	}{
		{"echo", [][]byte{frame(peerIP, inet.ProtoICMP, 1, false, 0, echo(10))}, ""},
		{"fragments", [][]byte{
			frame(peerIP, inet.ProtoICMP, 2, true, 0, whole[:1480]),
			frame(peerIP, inet.ProtoICMP, 2, false, 1480, whole[1480:]),
		}, ""},
		{"fragment missing", [][]byte{frame(peerIP, inet.ProtoICMP, 3, true, 0, whole[:1480])}, "never the whole datagram"},
		{"fragments overlap", [][]byte{
			frame(peerIP, inet.ProtoICMP, 4, true, 0, whole[:1480]),
			frame(peerIP, inet.ProtoICMP, 4, false, 1472, whole[1472:]),
		}, "overlap"},
		{"reassembled checksum", [][]byte{
			frame(peerIP, inet.ProtoICMP, 5, true, 0, whole[:1480]),
			frame(peerIP, inet.ProtoICMP, 5, false, 1480, append([]byte{whole[1480] ^ 1}, whole[1481:]...)),
		}, "icmp: bad checksum"},
		{"error to broadcast", [][]byte{frame(inet.IPv4Broadcast, inet.ProtoICMP, 6, false, 0, unreach(quotedErr[:28]))}, "not a unique host"},
		{"error about an error", [][]byte{frame(peerIP, inet.ProtoICMP, 7, false, 0, unreach(quotedErr[:28]))}, "about ICMP error"},
		{"wrong source MAC", [][]byte{append(append(append([]byte(nil), peerMAC[:]...), peerMAC[:]...),
			frame(peerIP, inet.ProtoICMP, 8, false, 0, echo(1))[12:]...)}, "ethernet: source"},
		{"truncated", [][]byte{frame(peerIP, inet.ProtoICMP, 8, false, 0, echo(1))[:30]}, "ipv4: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckFrames(tc.frames, usMAC, usIP)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

var (
	us6   = inet.MustParseAddr("fd00:6::1")
	peer6 = inet.MustParseAddr("fd00:6::2")
)

// frame6 builds an IPv6 frame from src to dst (the Ethernet destination
// mapped for multicast) with nh and payload; for ICMPv6 and UDP (sum at
// off) the checksum is set.
func frame6(src, dst inet.Addr, nh uint8, payload []byte, sumOff int) []byte {
	if sumOff >= 0 {
		payload[sumOff], payload[sumOff+1] = 0, 0
		s := checksum.Checksum(payload, checksum.Pseudo(src, dst, nh, len(payload)))
		payload[sumOff], payload[sumOff+1] = byte(s>>8), byte(s)
	}
	mac := peerMAC
	if dst.IsMulticast() {
		mac = inet.MulticastMAC(dst)
	}
	f := make([]byte, ethernet.HeaderLen+ipv6.HeaderLen+len(payload))
	(&ethernet.Fields{Dst: mac, Src: usMAC, Type: inet.EtherTypeIPv6}).Encode(f)
	(&ipv6.Fields{PayloadLen: uint16(len(payload)), NextHeader: nh, HopLimit: 64, Src: src, Dst: dst}).Encode(f[ethernet.HeaderLen:])
	copy(f[ethernet.HeaderLen+ipv6.HeaderLen:], payload)
	return f
}

// hop6 sets the hop limit of the IPv6 frame f.
func hop6(h uint8, f []byte) []byte {
	f[ethernet.HeaderLen+7] = h
	return f
}

func icmp6(typ uint8, body []byte) []byte {
	m := make([]byte, 8+len(body))
	(&icmpv6.Fields{Type: typ, Body: body}).Encode(m)
	return m
}

// frag6 is a fragment of whole (ICMPv6) from us6 to peer6.
func frag6(id uint32, whole []byte, off, end int, more bool) []byte {
	fh := make([]byte, 8)
	(&ipv6.FragmentFields{NextHeader: inet.ProtoICMPv6, Offset: off, More: more, ID: id}).Encode(fh)
	return frame6(us6, peer6, inet.ProtoFragment, append(fh, whole[off:end]...), -1)
}

func TestCheckFrames6(t *testing.T) {
	whole := icmp6(icmpv6.TypeEchoReply, make([]byte, 2000))
	icmpv6.SetChecksum(whole, us6, peer6, 0, 0)
	quoted := frame6(peer6, us6, inet.ProtoICMPv6, icmp6(icmpv6.TypeDestUnreachable, nil), 2)[ethernet.HeaderLen:]
	udp := []byte{0, 7, 0, 7, 0, 9, 0, 0, 'x'}
	for _, tc := range []struct {
		name   string
		frames [][]byte
		want   string
	}{
		{"echo reply", [][]byte{frame6(us6, peer6, inet.ProtoICMPv6, icmp6(icmpv6.TypeEchoReply, []byte("abc")), 2)}, ""},
		{"fragments", [][]byte{frag6(1, whole, 0, 1448, true), frag6(1, whole, 1448, len(whole), false)}, ""},
		{"fragment missing", [][]byte{frag6(2, whole, 0, 1448, true)}, "never the whole packet"},
		{"fragments overlap", [][]byte{frag6(3, whole, 0, 1448, true), frag6(3, whole, 1440, len(whole), false)}, "overlap"},
		{"fragment not a multiple of 8", [][]byte{frag6(4, whole, 0, 1447, true)}, "not a multiple of 8"},
		{"UDP without checksum", [][]byte{frame6(us6, peer6, inet.ProtoUDP, bytes.Clone(udp), -1)}, "no checksum over IPv6"},
		{"UDP", [][]byte{frame6(us6, peer6, inet.ProtoUDP, bytes.Clone(udp), 6)}, ""},
		{"from another address", [][]byte{frame6(peer6, peer6, inet.ProtoUDP, bytes.Clone(udp), 6)}, "not one of the stack's"},
		{"UDP from ::", [][]byte{frame6(inet.IPv6Unspecified, peer6, inet.ProtoUDP, bytes.Clone(udp), 6)}, "only ND and MLD"},
		{"NS from ::", [][]byte{hop6(255, frame6(inet.IPv6Unspecified, inet.SolicitedNode(us6), inet.ProtoICMPv6, icmp6(icmpv6.TypeNeighborSolicit, make([]byte, 16)), 2))}, ""},
		{"NS with hop limit 64", [][]byte{frame6(inet.IPv6Unspecified, inet.SolicitedNode(us6), inet.ProtoICMPv6, icmp6(icmpv6.TypeNeighborSolicit, make([]byte, 16)), 2)}, "ND type 135 with hop limit 64"},
		{"error to multicast", [][]byte{frame6(us6, inet.IPv6AllNodes, inet.ProtoICMPv6, icmp6(icmpv6.TypeDestUnreachable, quoted[:48]), 2)}, "not one node"},
		{"error about an error", [][]byte{frame6(us6, peer6, inet.ProtoICMPv6, icmp6(icmpv6.TypeDestUnreachable, quoted), 2)}, "about ICMPv6 type 1"},
		{"bad ICMPv6 checksum", [][]byte{frame6(us6, peer6, inet.ProtoICMPv6, icmp6(icmpv6.TypeEchoReply, nil), -1)}, "icmpv6: bad checksum"},
		{"to ourselves", [][]byte{frame6(us6, us6, inet.ProtoICMPv6, icmp6(icmpv6.TypeEchoReply, nil), 2)}, "on the wire"},
		{"wrong multicast MAC", [][]byte{append(append(bytes.Clone(peerMAC[:]), usMAC[:]...),
			frame6(us6, inet.IPv6AllNodes, inet.ProtoICMPv6, icmp6(icmpv6.TypeEchoRequest, nil), 2)[12:]...)}, "in a frame to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewFrameChecker(usMAC, usIP)
			c.SetIPv6(us6)
			var err error
			for _, f := range tc.frames {
				if _, err = c.Add(f); err != nil {
					break
				}
			}
			if err == nil {
				err = c.Pending()
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
