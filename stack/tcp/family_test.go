package tcp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

// IPv6 addresses for the harness's two ends (useIPv6).
var (
	addrA6 = inet.MustParseAddr("2001:db8::a")
	addrB6 = inet.MustParseAddr("2001:db8::b")
)

// useIPv6 makes addrA and addrB, the harness's two ends, IPv6 hosts for
// the rest of the test (the package's tests do not run in parallel).
func useIPv6(t testing.TB) {
	a, b := addrA, addrB
	addrA, addrB = addrA6, addrB6
	t.Cleanup(func() { addrA, addrB = a, b })
}

// forFamilies runs f over IPv4 and over IPv6: one state machine serves
// both, and each test that runs this way proves it for the other family.
func forFamilies(t *testing.T, f func(t *testing.T)) {
	t.Run("ipv4", f)
	t.Run("ipv6", func(t *testing.T) {
		useIPv6(t)
		f(t)
	})
}

// The MSS offered and taken by family: the MTU less 40 over IPv4, less 60
// over IPv6 (RFC 8200 §8.3); without the peer's option, RFC 9293's 536
// over IPv4 and 1220 (1280 less 60) over IPv6.
func TestMSSByFamily(t *testing.T) {
	for _, c := range []struct {
		v6              bool
		offer, fallback int
	}{{false, 1460, 536}, {true, 1440, 1220}} {
		p := newPeer(t, Config{})
		if c.v6 {
			useIPv6(t)
		}
		ln, _ := p.e.l.Listen(80)
		p.send(seg{sport: 5000, dport: 80, seq: peerISN, flags: FlagSYN, wnd: 65535, opts: []byte{2, 4, 0x23, 0x28}}) // MSS 9000
		h := p.expect(FlagSYN|FlagACK, nil, nil)
		o, _ := ParseOptions(h.Options())
		if !o.HasMSS || int(o.MSS) != c.offer {
			t.Fatalf("v6=%v: SYN-ACK MSS %d, want %d", c.v6, o.MSS, c.offer)
		}
		p.send(seg{sport: 5001, dport: 80, seq: peerISN, flags: FlagSYN, wnd: 65535})
		p.expect(FlagSYN|FlagACK, nil, nil)
		p.e.mu.Lock()
		c1 := p.e.l.conns[tuple{laddr: addrA, raddr: addrB, lport: 80, rport: 5000}]
		c2 := p.e.l.conns[tuple{laddr: addrA, raddr: addrB, lport: 80, rport: 5001}]
		if int(c1.mss) != c.offer || int(c2.mss) != c.fallback {
			t.Errorf("v6=%v: send MSS %d (peer 9000) and %d (no option), want %d and %d", c.v6, c1.mss, c2.mss, c.offer, c.fallback)
		}
		p.e.mu.Unlock()
		ln.Close()
	}
}

// Bulk data both ways with faults, over IPv6: the checksums over the
// IPv6 pseudo-header catch the corruption, with and without the
// device's offloads (TSO6).
func TestFaultsBothWays6(t *testing.T) {
	useIPv6(t)
	for _, tso := range []bool{false, true} {
		off := offloads
		if !tso {
			off.TxChecksum, off.TSO4Max, off.TSO6Max, off.RxChecksum, off.LargeReceive = false, 0, 0, false, 0
		}
		n := newTestNetOffload(t, 43, faults{}, Config{}, Config{}, off)
		a, b := n.connect(80)
		n.f = lossy
		transfer(t, n, a, b, min(faultSize(), 8<<20), 10*time.Second, time.Hour)
		st, stb := n.ends[0].l.StatsLocked(), n.ends[1].l.StatsLocked()
		if st.IPv6.SegmentsOut != st.SegmentsOut || st.IPv6.SegmentsOut == 0 || st.IPv6.Conns != st.Conns {
			t.Errorf("tso=%v: IPv6 share %+v of %+v", tso, st.IPv6, st.Counters)
		}
		if n.stats.corrupt > 0 && st.Drops[DropChecksum]+stb.Drops[DropChecksum] == 0 {
			t.Errorf("tso=%v: %d segments corrupted, none dropped for its checksum", tso, n.stats.corrupt)
		}
		if tso && (st.LargeSegmentsOut == 0 || stb.LargeSegmentsIn == 0) {
			t.Errorf("TSO6 unused: %d large segments out, %d in", st.LargeSegmentsOut, stb.LargeSegmentsIn)
		}
	}
}

// gsoIP records the GSO type of every segment written.
type gsoIP struct {
	discardIP
	types []pkt.GSOType
}

func (g *gsoIP) Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	g.types = append(g.types, b.GSO())
	return nil
}

// An IPv6 connection hands the device GSOTCPv6 segments up to TSO6Max,
// and none when the device does TSO over IPv4 only.
func TestTSO6(t *testing.T) {
	useIPv6(t)
	for _, c := range []struct {
		tso6 int
		want pkt.GSOType
	}{{65535, pkt.GSOTCPv6}, {0, pkt.GSONone}} {
		p := newPeer(t, Config{})
		conn, _ := p.open([]byte{2, 4, 5, 160})
		g := &gsoIP{}
		p.e.mu.Lock()
		p.e.l.ip = g
		p.e.l.off = offloads
		p.e.l.off.TSO6Max = c.tso6
		conn.f |= fNoDelay
		conn.cc.cwnd = 1 << 20
		conn.sndWnd = 1 << 20
		conn.tryWrite(make([]byte, 50000))
		p.e.mu.Unlock()
		if len(g.types) == 0 {
			t.Fatal("nothing sent")
		}
		for i, typ := range g.types {
			if typ != c.want {
				t.Fatalf("TSO6Max %d: segment %d has GSO type %d, want %d (%d segments)", c.tso6, i, typ, c.want, len(g.types))
			}
		}
		if c.want == pkt.GSOTCPv6 && len(g.types) != 1 {
			t.Errorf("50000 bytes in %d TSO segments, want 1", len(g.types))
		}
	}
}

// synFrom delivers a SYN from src:sport to dst:80 and returns what the
// layer answered (nil: nothing).
func (p *peer) synFrom(src, dst inet.Addr, sport uint16) Header {
	p.t.Helper()
	p.drain() // RSTs of half-open connections a closed listener reset
	b := seg{sport: sport, dport: 80, seq: peerISN, flags: FlagSYN, wnd: 65535}.bytes(src, dst)
	p.e.mu.Lock()
	p.e.l.Deliver(&transport.Packet{Src: src, Dst: dst, Payload: b})
	p.e.mu.Unlock()
	select {
	case b := <-p.out:
		h, _ := ParseHeader(b)
		return h
	default:
		return nil
	}
}

// Listeners per family, as Linux's with IPV6_V6ONLY: a dual listener
// takes both families; an IPv4 and an IPv6-only listener share a port
// and each takes its own; a listener on one address takes only
// connections to it.
func TestListenFamilies(t *testing.T) {
	p := newPeer(t, Config{})
	l := p.e.l
	a4, b4 := inet.AddrFrom4(inet.MustParseAddr4("10.0.0.1")), inet.AddrFrom4(inet.MustParseAddr4("10.0.0.2"))
	a6, b6 := addrA6, addrB6
	isSynAck := func(h Header) bool { return h != nil && h.Flags() == FlagSYN|FlagACK }
	isRst := func(h Header) bool { return h != nil && h.Flags()&FlagRST != 0 }

	dual, err := l.Listen(80)
	if err != nil {
		t.Fatal(err)
	}
	if got := dual.Addr().String(); got != "[::]:80" || dual.V6Only() {
		t.Fatalf("dual listener's address %s, v6only %v", got, dual.V6Only())
	}
	for _, c := range []struct {
		addr   string
		v6only bool
	}{{"0.0.0.0:80", false}, {"[::]:80", true}, {"[::]:80", false}, {"10.0.0.1:80", false}, {"[2001:db8::a]:80", false}} {
		if _, err := l.ListenAddr(netip.MustParseAddrPort(c.addr), c.v6only); err != ErrAddrInUse {
			t.Errorf("%s v6only=%v beside a dual listener: %v, want ErrAddrInUse", c.addr, c.v6only, err)
		}
	}
	if h := p.synFrom(b4, a4, 4000); !isSynAck(h) {
		t.Fatalf("dual listener, IPv4 SYN: %s", describe(h))
	}
	if h := p.synFrom(b6, a6, 4000); !isSynAck(h) {
		t.Fatalf("dual listener, IPv6 SYN: %s", describe(h))
	}
	dual.Close()

	v4, err := l.ListenAddr(netip.MustParseAddrPort("0.0.0.0:80"), false)
	if err != nil {
		t.Fatal(err)
	}
	if h := p.synFrom(b6, a6, 4001); !isRst(h) {
		t.Fatalf("IPv4 listener alone, IPv6 SYN: %s, want RST", describe(h))
	}
	v6, err := l.ListenAddr(netip.MustParseAddrPort("[::]:80"), true)
	if err != nil {
		t.Fatalf("IPv6-only listener beside an IPv4 one: %v", err)
	}
	if !v6.V6Only() || v4.V6Only() || v4.Addr().String() != "0.0.0.0:80" {
		t.Fatalf("listener addresses %s %s", v4.Addr(), v6.Addr())
	}
	if h := p.synFrom(b4, a4, 4002); !isSynAck(h) {
		t.Fatalf("IPv4 SYN: %s", describe(h))
	}
	if h := p.synFrom(b6, a6, 4002); !isSynAck(h) {
		t.Fatalf("IPv6 SYN: %s", describe(h))
	}
	p.e.mu.Lock()
	if c := l.conns[tuple{laddr: a4, raddr: b4, lport: 80, rport: 4002}]; c == nil || c.ln != v4 {
		t.Error("the IPv4 connection is not the IPv4 listener's")
	}
	if c := l.conns[tuple{laddr: a6, raddr: b6, lport: 80, rport: 4002}]; c == nil || c.ln != v6 {
		t.Error("the IPv6 connection is not the IPv6 listener's")
	}
	p.e.mu.Unlock()
	if _, err := l.ListenAddr(netip.MustParseAddrPort("0.0.0.0:80"), true); err != ErrInvalid {
		t.Errorf("v6only on 0.0.0.0: %v", err)
	}
	v4.Close()
	v6.Close()
	if n := len(l.listeners); n != 0 {
		t.Fatalf("%d ports still listened on", n)
	}

	// On one address: connections to our other address are refused.
	one, err := l.ListenAddr(netip.MustParseAddrPort("[2001:db8::a]:80"), false)
	if err != nil {
		t.Fatal(err)
	}
	if one.Addr().String() != "[2001:db8::a]:80" {
		t.Fatalf("address %s", one.Addr())
	}
	if h := p.synFrom(b6, inet.MustParseAddr("2001:db8::c"), 4003); !isRst(h) {
		t.Fatalf("SYN to another of our addresses: %s, want RST", describe(h))
	}
	if h := p.synFrom(b6, a6, 4003); !isSynAck(h) {
		t.Fatalf("SYN to the address: %s", describe(h))
	}
	one.Close()
	st := l.lockedStats()
	if st.IPv6.Drops[DropNoListener] != 2 || st.Drops[DropNoListener] != 2 {
		t.Errorf("no-listener drops %d (IPv6 %d), want 2 both", st.Drops[DropNoListener], st.IPv6.Drops[DropNoListener])
	}
}

// The keyed hash of ISNs, ports and SYN cookies covers all 16 bytes of
// an IPv6 address: tuples differing in any one byte of either address
// hash differently.
func TestKeyedHashCoversIPv6(t *testing.T) {
	var key [16]byte
	key[0] = 1
	base := tuple{laddr: addrA6, raddr: addrB6, lport: 80, rport: 5000}
	h0 := keyedHash(&key, base, 7, 9)
	for i := range 16 {
		for _, which := range []string{"local", "remote"} {
			id := base
			a := &id.laddr
			if which == "remote" {
				a = &id.raddr
			}
			b := a.As16()
			b[i] ^= 0x80
			*a = inet.AddrFrom16(b)
			if !a.Is6() {
				continue // became IPv4-mapped: another family
			}
			if keyedHash(&key, id, 7, 9) == h0 {
				t.Errorf("flipping byte %d of the %s address leaves the hash", i, which)
			}
		}
	}
	// And an IPv4 tuple is not the IPv4-mapped bytes of an IPv6 one.
	v4 := tuple{laddr: inet.AddrFrom4(inet.MustParseAddr4("10.0.0.1")), raddr: inet.AddrFrom4(inet.MustParseAddr4("10.0.0.2")), lport: 80, rport: 5000}
	if keyedHash(&key, v4, 7, 9) == h0 {
		t.Error("IPv4 and IPv6 tuples collide")
	}
}
