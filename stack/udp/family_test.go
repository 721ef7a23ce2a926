package udp

import (
	"bytes"
	"errors"
	"net/netip"
	"sync"
	"testing"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

var (
	us6   = inet.MustParseAddr("2001:db8::f")
	peer6 = inet.MustParseAddr("2001:db8::2")
)

// fakeIP6 is fakeIP with IPv6 sources: our IPv6 address for an IPv6
// destination.
type fakeIP6 struct{ fakeIP }

func (f *fakeIP6) Source(dst inet.Addr) (inet.Addr, error) {
	if dst.Is4() {
		return us, nil
	}
	return us6, nil
}

func newLayer6(t *testing.T) (*Layer, *fakeIP6) {
	ip := &fakeIP6{fakeIP{icmp: &fakeICMP{}}}
	return New(ip, &sync.Mutex{}, nil, Config{}), ip
}

// mkDatagram6 builds a datagram from peer6 to us6 with a valid checksum.
func mkDatagram6(sport, dport uint16, payload string) []byte {
	d := make([]byte, HeaderLen+len(payload))
	(&Fields{SrcPort: sport, DstPort: dport, Length: uint16(len(d))}).Encode(d)
	copy(d[HeaderLen:], payload)
	SetChecksum(d, peer6, us6)
	return d
}

func deliverFrom(l *Layer, src, dst inet.Addr, d []byte) {
	l.lock.Lock()
	defer l.lock.Unlock()
	l.Deliver(&transport.Packet{Src: src, Dst: dst, Header: d, Payload: d})
}

// [2001:db8::2]:5353 -> [2001:db8::f]:7, "hi": the checksum over the
// IPv6 pseudo-header (RFC 8200 §8.1: addresses, upper-layer length as 32
// bits, three zero bytes, next header 17), 0x26fe, computed apart from
// package checksum.
func TestGoldenDatagram6(t *testing.T) {
	golden := []byte{0x14, 0xe9, 0x00, 0x07, 0x00, 0x0a, 0x26, 0xfe, 'h', 'i'}
	if got := mkDatagram6(5353, 7, "hi"); !bytes.Equal(got, golden) {
		t.Fatalf("encode: % x, want % x", got, golden)
	}
	h, err := ParseHeader(golden)
	if err != nil || !h.ValidChecksum(peer6, us6) {
		t.Fatalf("parse: %v, valid %v", err, err == nil && h.ValidChecksum(peer6, us6))
	}
	if h.ValidChecksum(peer, us) {
		t.Fatal("valid under IPv4 addresses too")
	}
}

// Sockets per family on one port, as Linux with IPV6_V6ONLY: an IPv4 one
// and an IPv6-only one coexist; a dual-stack one excludes both.
func TestBindFamilies(t *testing.T) {
	l, _ := newLayer6(t)
	any4 := netip.AddrPortFrom(netip.IPv4Unspecified(), 7)
	any6 := netip.AddrPortFrom(netip.IPv6Unspecified(), 7)
	v4, err := l.Bind(any4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Bind(any6); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("dual bind beside an IPv4 one: %v, want ErrPortInUse", err)
	}
	v6, err := l.BindAddr(any6, true)
	if err != nil {
		t.Fatalf("IPv6-only bind beside an IPv4 one: %v", err)
	}
	if _, err := l.BindAddr(netip.AddrPortFrom(netip.MustParseAddr("2001:db8::f"), 7), false); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("second IPv6 socket: %v", err)
	}
	if _, err := l.BindAddr(any4, true); !errors.Is(err, transport.ErrAddrFamily) {
		t.Fatalf("IPv6-only on 0.0.0.0: %v", err)
	}
	if st := l.StatsLocked(); st.OpenSockets != 2 {
		t.Fatalf("open sockets %d, want 2", st.OpenSockets)
	}
	deliverFrom(l, peer, us, mkDatagram(1000, 7, "four"))
	deliverFrom(l, peer6, us6, mkDatagram6(1000, 7, "six"))
	buf := make([]byte, 64)
	for _, c := range []struct {
		c    *Conn
		want string
		from inet.Addr
	}{{v4, "four", peer}, {v6, "six", peer6}} {
		n, from, err := c.c.ReadFromAddrPort(buf)
		if err != nil || string(buf[:n]) != c.want || from != c.from.AddrPort(1000) {
			t.Fatalf("read %q from %v, %v; want %q from %v", buf[:n], from, err, c.want, c.from)
		}
	}
	if got := v4.LocalAddr().String(); got != "0.0.0.0:7" {
		t.Errorf("IPv4 socket's address %s", got)
	}
	if got := v6.LocalAddr().String(); got != "[::]:7" {
		t.Errorf("IPv6 socket's address %s", got)
	}
	// Each sends to its own family only.
	if _, err := v4.WriteToAddrPort([]byte("x"), peer6.AddrPort(9)); !errors.Is(err, transport.ErrAddrFamily) {
		t.Errorf("IPv4 socket to IPv6: %v", err)
	}
	if _, err := v6.WriteToAddrPort([]byte("x"), peer.AddrPort(9)); !errors.Is(err, transport.ErrAddrFamily) {
		t.Errorf("IPv6-only socket to IPv4: %v", err)
	}
	mapped := netip.AddrPortFrom(netip.AddrFrom16(peer.As16()), 9) // ::ffff:10.0.2.2 is IPv4
	if _, err := v6.WriteToAddrPort([]byte("x"), mapped); !errors.Is(err, transport.ErrAddrFamily) {
		t.Errorf("IPv6-only socket to an IPv4-mapped address: %v", err)
	}
	v4.Close()
	if _, err := l.Bind(any6); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("dual bind beside an IPv6-only one: %v", err)
	}
	v6.Close()
	dual, err := l.Bind(any6)
	if err != nil {
		t.Fatalf("dual bind on a free port: %v", err)
	}
	if _, err := l.Bind(any4); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("IPv4 bind beside a dual one: %v", err)
	}
	if _, err := l.BindAddr(any6, true); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("IPv6-only bind beside a dual one: %v", err)
	}
	deliverFrom(l, peer, us, mkDatagram(1000, 7, "four"))
	deliverFrom(l, peer6, us6, mkDatagram6(1000, 7, "six"))
	for _, want := range []string{"four", "six"} {
		n, _, err := dual.ReadFromAddrPort(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("dual read %q, %v; want %q", buf[:n], err, want)
		}
	}
	dual.Close()
	if st := l.StatsLocked(); st.OpenSockets != 0 || len(l.ports) != 0 {
		t.Fatalf("after closing: %d sockets, %d ports", st.OpenSockets, len(l.ports))
	}
}

// An IPv4-only socket does not take IPv6 datagrams: they get a port
// unreachable, as to a closed port.
func TestIPv4SocketRefusesIPv6(t *testing.T) {
	l, ip := newLayer6(t)
	c, _ := l.Bind(netip.MustParseAddrPort("0.0.0.0:7"))
	defer c.Close()
	deliverFrom(l, peer6, us6, mkDatagram6(1000, 7, "six"))
	st := l.StatsLocked()
	if st.NoPort != 1 || st.IPv6.NoPort != 1 || len(ip.icmp.codes) != 1 {
		t.Fatalf("stats %+v, unreachables %v", st, ip.icmp.codes)
	}
}

// Over IPv6 the checksum is mandatory (RFC 8200 §8.1): a zero one is
// dropped and counted; over IPv4 it means none was computed (RFC 768).
func TestZeroChecksum(t *testing.T) {
	l, _ := newLayer6(t)
	c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	defer c.Close()
	d6 := mkDatagram6(1000, 7, "six")
	d6[6], d6[7] = 0, 0
	deliverFrom(l, peer6, us6, d6)
	d4 := mkDatagram(1000, 7, "four")
	d4[6], d4[7] = 0, 0
	deliverFrom(l, peer, us, d4)
	st := l.StatsLocked()
	if st.DropZeroChecksum != 1 || st.IPv6.DropZeroChecksum != 1 || st.ZeroChecksumIn != 1 || st.IPv6.ZeroChecksumIn != 0 {
		t.Fatalf("stats %+v", st)
	}
	if st.InDatagrams != 1 || st.IPv6.InDatagrams != 0 {
		t.Fatalf("delivered %d (IPv6 %d), want only the IPv4 one", st.InDatagrams, st.IPv6.InDatagrams)
	}
	// A datagram whose checksum computes to zero is sent as 0xffff.
	bad := mkDatagram6(1000, 7, "six")
	bad[8] ^= 1
	deliverFrom(l, peer6, us6, bad)
	if st := l.StatsLocked(); st.IPv6.DropChecksum != 1 {
		t.Fatalf("bad IPv6 checksum not counted: %+v", st.IPv6)
	}
}

// A dual socket answers each client in its own family, from our address
// of that family, with a checksum over that family's pseudo-header.
func TestSendBothFamilies(t *testing.T) {
	l, ip := newLayer6(t)
	c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	defer c.Close()
	if _, err := c.WriteToAddrPort([]byte("to six"), peer6.AddrPort(1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToAddrPort([]byte("to four"), peer.AddrPort(1000)); err != nil {
		t.Fatal(err)
	}
	if len(ip.out) != 2 {
		t.Fatalf("%d datagrams sent", len(ip.out))
	}
	for i, want := range []struct{ src, dst inet.Addr }{{us6, peer6}, {us, peer}} {
		s := ip.out[i]
		h, err := ParseHeader(s.data)
		if s.src != want.src || s.dst != want.dst || err != nil || !h.ValidChecksum(s.src, s.dst) || h.Checksum() == 0 {
			t.Fatalf("datagram %d: %v -> %v, %v, checksum ok %v", i, s.src, s.dst, err, err == nil && h.ValidChecksum(s.src, s.dst))
		}
	}
	if st := l.StatsLocked(); st.OutDatagrams != 2 || st.IPv6.OutDatagrams != 1 {
		t.Fatalf("out %d, IPv6 %d", st.OutDatagrams, st.IPv6.OutDatagrams)
	}
}

// A connected IPv6 socket takes an ephemeral port in the IPv6 slot only,
// receives only from its peer, and reports an ICMPv6 unreachable.
func TestDial6(t *testing.T) {
	l, _ := newLayer6(t)
	c, err := l.Dial(peer6.AddrPort(53))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.local != us6 || c.fams != takesIPv6 {
		t.Fatalf("local %v fams %d", c.local, c.fams)
	}
	v4, err := l.Bind(netip.AddrPortFrom(netip.IPv4Unspecified(), c.Port()))
	if err != nil {
		t.Fatalf("IPv4 socket on a connected IPv6 socket's port: %v", err)
	}
	v4.Close()
	l.lock.Lock()
	q := mkDatagram6(c.Port(), 53, "")[:8]
	l.Error(&transport.ControlError{Kind: transport.PortUnreachable, Src: us6, Dst: peer6, Proto: inet.ProtoUDP, Quoted: q})
	l.lock.Unlock()
	if _, err := c.Read(make([]byte, 10)); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("read after an unreachable: %v", err)
	}
	if st := l.StatsLocked(); st.IPv6.ICMPErrors != 1 {
		t.Fatalf("ICMP errors %+v", st.IPv6)
	}
}

func TestDeliverReadNoAllocs6(t *testing.T) {
	l, ip := newLayer6(t)
	ip.discard = true
	c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	d := mkDatagram6(5000, 7, "steady state")
	buf := make([]byte, 64)
	p := &transport.Packet{Src: peer6, Dst: us6, Header: d, Payload: d}
	allocs := testing.AllocsPerRun(1000, func() {
		l.lock.Lock()
		l.Deliver(p)
		l.lock.Unlock()
		c.ReadFromAddrPort(buf)
		c.WriteToAddrPort(buf[:12], peer6.AddrPort(5000))
	})
	if allocs != 0 {
		t.Fatalf("deliver+read+write over IPv6 allocated %.1f per datagram", allocs)
	}
}
