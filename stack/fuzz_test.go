package stack_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// frameDev is a netif.Device that lets a test inject frames and keeps
// what the stack transmits.
type frameDev struct {
	mu      sync.Mutex
	handler netif.Handler
	sent    [][]byte
}

func (d *frameDev) MAC() inet.MAC            { return inet.MAC{2, 0, 0, 0, 0, 0x0f} }
func (d *frameDev) MTU() int                 { return 1500 }
func (d *frameDev) Headroom() int            { return 0 }
func (d *frameDev) Offloads() netif.Offloads { return netif.Offloads{} }
func (d *frameDev) LinkUp() bool             { return true }
func (d *frameDev) Transmit(b *pkt.Buf) error {
	f := make([]byte, b.Len())
	b.CopyTo(f)
	d.mu.Lock()
	d.sent = append(d.sent, f)
	d.mu.Unlock()
	return nil
}

// take returns and forgets the frames sent so far.
func (d *frameDev) take() [][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.sent
	d.sent = nil
	return s
}
func (d *frameDev) SetHandler(h netif.Handler) { d.mu.Lock(); d.handler = h; d.mu.Unlock() }
func (d *frameDev) Stats() netif.Stats         { return netif.Stats{} }
func (d *frameDev) Close() error               { return nil }
func (d *frameDev) inject(f []byte) {
	d.mu.Lock()
	h := d.handler
	d.mu.Unlock()
	if h != nil {
		h(f, netif.RxMeta{})
	}
}

var (
	fuzzUs   = inet.MustParseAddr4("10.0.2.15")
	fuzzPeer = inet.MustParseAddr4("10.0.2.2")
	peerMAC  = inet.MAC{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}
)

// ipFrame wraps a transport payload in Ethernet and IPv4 headers from the
// peer to us, with a correct header checksum.
func ipFrame(proto uint8, payload []byte) []byte {
	f := make([]byte, 14+20+len(payload))
	us := (&frameDev{}).MAC()
	copy(f[0:6], us[:])
	copy(f[6:12], peerMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(payload)))
	ip[8], ip[9] = 64, proto
	copy(ip[12:16], fuzzPeer[:])
	copy(ip[16:20], fuzzUs[:])
	binary.BigEndian.PutUint16(ip[10:], checksum.Checksum(ip, 0))
	copy(f[34:], payload)
	return f
}

// transportFrame adds the transport checksum at off of payload.
func transportFrame(proto uint8, payload []byte, off int) []byte {
	binary.BigEndian.PutUint16(payload[off:], 0)
	s := checksum.Pseudo(inet.AddrFrom4(fuzzPeer), inet.AddrFrom4(fuzzUs), proto, len(payload))
	binary.BigEndian.PutUint16(payload[off:], checksum.Checksum(payload, s))
	return ipFrame(proto, payload)
}

// seedFrames are real frames for each protocol the stack speaks.
func seedFrames() [][]byte {
	arp := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02,
		10, 0, 2, 2, 0, 0, 0, 0, 0, 0, 10, 0, 2, 15}
	echo := append([]byte{8, 0, 0, 0, 0x12, 0x34, 0, 1}, "abcdefgh"...)
	udp := append([]byte{0x13, 0x88, 0, 7, 0, 13, 0, 0}, "hello"...)
	syn := []byte{0xc3, 0x50, 0, 7, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x80, 0x02, 0xfa, 0xf0, 0, 0, 0, 0,
		2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}
	return [][]byte{
		arp,
		transportFrame(1, echo, 2),
		transportFrame(17, udp, 6),
		transportFrame(6, syn, 16),
	}
}

// The peer's and our IPv6 addresses in FuzzStackInput: EUI-64 ones, which
// the stack reaches without Neighbor Discovery until that lands.
var (
	fuzzUs6   = stacktest.EUI64(inet.MustParseAddr(stacktest.GlobalPrefix6), (&frameDev{}).MAC())
	fuzzPeer6 = stacktest.EUI64(inet.MustParseAddr(stacktest.GlobalPrefix6), peerMAC)
)

// ip6Frame wraps an upper-layer message (after any extension headers in
// chain, whose first header is nh) in Ethernet and IPv6 headers from the
// peer to us; for ICMPv6 (proto 58), UDP and TCP the checksum at off of
// payload is set.
func ip6Frame(nh uint8, chain []byte, proto uint8, payload []byte, off int) []byte {
	if off >= 0 {
		binary.BigEndian.PutUint16(payload[off:], 0)
		s := checksum.Pseudo(fuzzPeer6, fuzzUs6, proto, len(payload))
		binary.BigEndian.PutUint16(payload[off:], checksum.Checksum(payload, s))
	}
	us := (&frameDev{}).MAC()
	n := len(chain) + len(payload)
	f := make([]byte, 14+40+n)
	copy(f[0:6], us[:])
	copy(f[6:12], peerMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x86dd)
	ip := f[14:54]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], uint16(n))
	ip[6], ip[7] = nh, 64
	a, b := fuzzPeer6.As16(), fuzzUs6.As16()
	copy(ip[8:24], a[:])
	copy(ip[24:40], b[:])
	copy(f[54:], chain)
	copy(f[54+len(chain):], payload)
	return f
}

// seedFrames6 are IPv6 frames: echo, UDP, a SYN, the first fragment of a
// datagram (its timeout is an ICMPv6 error), a hop-by-hop option the
// stack must refuse with a Parameter Problem, RH0.
func seedFrames6() map[string][]byte {
	echo := append([]byte{128, 0, 0, 0, 0x12, 0x34, 0, 1}, "abcdefgh"...)
	udp := append([]byte{0x13, 0x88, 0, 7, 0, 13, 0, 0}, "hello"...)
	syn := []byte{0xc3, 0x50, 0, 7, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x80, 0x02, 0xfa, 0xf0, 0, 0, 0, 0,
		2, 4, 5, 0xa0, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}
	first := append([]byte{17, 0, 0, 1, 0, 0, 0, 9, 0x13, 0x88, 0, 7, 0, 0x50, 0, 0}, make([]byte, 16)...)
	hbh := []byte{17, 0, 0xde, 0, 1, 2, 0, 0}
	rh0 := append([]byte{17, 2, 0, 1, 0, 0, 0, 0}, fuzzUs6.Netip().AsSlice()...)
	return map[string][]byte{
		"ipv6_echo":           ip6Frame(58, nil, 58, echo, 2),
		"ipv6_udp":            ip6Frame(17, nil, 17, udp, 6),
		"ipv6_syn":            ip6Frame(6, nil, 6, syn, 16),
		"ipv6_first_fragment": ip6Frame(44, nil, 0, first, -1),
		"ipv6_unknown_option": ip6Frame(0, hbh, 17, udp, 6),
		"ipv6_rh0":            ip6Frame(43, rh0, 17, udp, 6),
	}
}

// TestFuzzStackSeeds6 writes the IPv6 seeds of FuzzStackInput under
// testdata/fuzz when MIRAGO_WRITE_SEEDS=1, and otherwise checks them.
func TestFuzzStackSeeds6(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzStackInput")
	for name, b := range seedFrames6() {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		path := filepath.Join(dir, name)
		if os.Getenv("MIRAGO_WRITE_SEEDS") == "1" {
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

// FuzzStackInput feeds arbitrary frames through the whole input path
// (ethernet, ARP, IPv4 with reassembly, ICMP, IPv6 with its extension
// headers and reassembly, ICMPv6, UDP, TCP) of a stack that has a TCP
// listener and a UDP socket open, then lets two minutes of virtual time
// run every timer the frame armed. It must never panic, and
// stacktest.Oracle must hold: everything sent parses and checksums, every
// bound holds, and the stack still answers a ping over both families and
// SYNs.
func FuzzStackInput(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s)
	}
	for _, s := range seedFrames6() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		dev := &frameDev{}
		vc := clock.NewVirtual(time.Unix(1_700_000_000, 0))
		cfg := stacktest.FuzzLimits(stack.Config{
			Addr: inet.Prefix4{Addr: fuzzUs, Bits: 24}, Gateway: fuzzPeer, Clock: vc,
			Rand: zeroRand{},
		})
		s, err := stack.New(dev, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ln, err := s.TCP().Listen(7)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		uc, err := s.UDP().Bind(netipAny(7))
		if err != nil {
			t.Fatal(err)
		}
		defer uc.Close()
		if _, us6 := stacktest.Address6(t, s); us6 != fuzzUs6 {
			t.Fatalf("IPv6 address %v, want %v", us6, fuzzUs6)
		}
		o := &stacktest.Oracle{Stack: s, Config: cfg, MAC: dev.MAC(), IP: fuzzUs, PeerMAC: peerMAC, PeerIP: fuzzPeer,
			IP6: fuzzUs6, PeerIP6: fuzzPeer6,
			Inject: dev.inject, Take: dev.take, Advance: vc.Advance, Listeners: []uint16{7}, ClosedPort: 9}
		dev.inject(frame)
		vc.Advance(2 * time.Minute) // run every timer the frame armed
		o.Check(t)
	})
}

type zeroRand struct{}

func (zeroRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i)
	}
	return len(p), nil
}

func netipAny(port uint16) netip.AddrPort { return netip.AddrPortFrom(netip.Addr{}, port) }
