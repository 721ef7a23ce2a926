package udp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

var (
	us   = inet.AddrFrom4(inet.MustParseAddr4("10.0.2.15"))
	peer = inet.AddrFrom4(inet.MustParseAddr4("10.0.2.2"))

	unspecified = inet.AnyIPv4
	broadcast   = inet.AddrFrom4(inet.IPv4Broadcast)
)

type sent struct {
	src, dst inet.Addr
	data     []byte
}

type fakeIP struct {
	out     []sent
	icmp    *fakeICMP
	discard bool // record nothing (allocation tests)
}

func (f *fakeIP) Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	if f.discard {
		return nil
	}
	d := make([]byte, b.Len())
	b.CopyTo(d)
	f.out = append(f.out, sent{src, dst, d})
	return nil
}
func (f *fakeIP) Headroom() int                       { return 34 }
func (f *fakeIP) Offloads() netif.Offloads            { return netif.Offloads{} }
func (f *fakeIP) Source(inet.Addr) (inet.Addr, error) { return us, nil }
func (f *fakeIP) MTU(inet.Addr) int                   { return 1500 }
func (f *fakeIP) PortUnreachable(p *transport.Packet) {
	if f.icmp != nil {
		f.icmp.codes = append(f.icmp.codes, 3)
	}
}

// fakeICMP records the ICMP errors the network was asked to send.
type fakeICMP struct{ codes []uint8 }

func newLayer(t *testing.T) (*Layer, *fakeIP, *fakeICMP) {
	ic := &fakeICMP{}
	ip := &fakeIP{icmp: ic}
	return New(ip, &sync.Mutex{}, nil, Config{}), ip, ic
}

// mkDatagram builds a UDP datagram from peer with a valid checksum.
func mkDatagram(sport, dport uint16, payload string) []byte {
	d := make([]byte, HeaderLen+len(payload))
	(&Fields{SrcPort: sport, DstPort: dport, Length: uint16(len(d))}).Encode(d)
	copy(d[HeaderLen:], payload)
	SetChecksum(d, peer, us)
	return d
}

func deliver(l *Layer, d []byte, bcast bool) {
	l.lock.Lock()
	defer l.lock.Unlock()
	l.Deliver(&transport.Packet{Src: peer, Dst: us, Header: d, Payload: d, Broadcast: bcast})
}

// A real datagram: 10.0.2.2:5353 -> 10.0.2.15:7, "hi", checksum computed
// by hand over the pseudo-header.
func TestGoldenDatagram(t *testing.T) {
	golden := []byte{0x14, 0xe9, 0x00, 0x07, 0x00, 0x0a, 0x00, 0x00, 'h', 'i'}
	s := checksum.Pseudo(peer, us, 17, 10)
	c := checksum.Checksum(golden, s)
	binary.BigEndian.PutUint16(golden[6:], c)
	if got := mkDatagram(5353, 7, "hi"); !bytes.Equal(got, golden) {
		t.Fatalf("encode: % x, want % x", got, golden)
	}
	h, err := ParseHeader(append(golden, 0, 0)) // Ethernet-style padding
	if err != nil {
		t.Fatal(err)
	}
	if h.Fields() != (Fields{SrcPort: 5353, DstPort: 7, Length: 10}) {
		t.Fatalf("Fields() = %+v", h.Fields())
	}
	if h.SrcPort() != 5353 || h.DstPort() != 7 || string(h.Payload()) != "hi" || !h.ValidChecksum(peer, us) {
		t.Fatalf("parse: %d %d %q valid=%v", h.SrcPort(), h.DstPort(), h.Payload(), h.ValidChecksum(peer, us))
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"short", []byte{0, 1, 0, 2, 0, 8, 0}, ErrShort},
		{"length under 8", []byte{0, 1, 0, 2, 0, 7, 0, 0}, ErrBadLength},
		{"length beyond data", []byte{0, 1, 0, 2, 0, 9, 0, 0}, ErrBadLength},
	} {
		if _, err := ParseHeader(tc.b); err != tc.want {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestDeliverAndRead(t *testing.T) {
	l, _, ic := newLayer(t)
	c, err := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	if err != nil {
		t.Fatal(err)
	}
	deliver(l, mkDatagram(5000, 7, "hello"), false)
	bad := mkDatagram(5000, 7, "xx")
	bad[HeaderLen] ^= 1 // corrupt payload: checksum fails
	deliver(l, bad, false)
	nock := mkDatagram(5000, 7, "nocsum")
	nock[6], nock[7] = 0, 0
	deliver(l, nock, false)
	deliver(l, mkDatagram(5000, 9, "closed"), false)
	deliver(l, mkDatagram(5000, 9, "closed-bcast"), true)

	buf := make([]byte, 64)
	for _, want := range []string{"hello", "nocsum"} {
		n, from, err := c.ReadFromAddrPort(buf)
		if err != nil || string(buf[:n]) != want || from != netip.MustParseAddrPort("10.0.2.2:5000") {
			t.Fatalf("read %q from %v err %v, want %q", buf[:n], from, err, want)
		}
	}
	l.lock.Lock()
	st := l.StatsLocked()
	l.lock.Unlock()
	if st.DropChecksum != 1 || st.NoPort != 2 || st.InDatagrams != 2 || st.ZeroChecksumIn != 1 {
		t.Fatalf("stats %+v", st)
	}
	if len(ic.codes) != 1 || ic.codes[0] != 3 {
		t.Fatalf("port unreachable sent %v, want exactly one code 3 (none for broadcast)", ic.codes)
	}
}

func TestSendBuildsChecksummedDatagram(t *testing.T) {
	l, ip, _ := newLayer(t)
	c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	if _, err := c.WriteToAddrPort([]byte("pong"), netip.MustParseAddrPort("10.0.2.2:5000")); err != nil {
		t.Fatal(err)
	}
	if len(ip.out) != 1 {
		t.Fatalf("%d datagrams sent", len(ip.out))
	}
	o := ip.out[0]
	h, err := ParseHeader(o.data)
	if err != nil || o.src != us || o.dst != peer || h.SrcPort() != 7 || h.DstPort() != 5000 ||
		string(h.Payload()) != "pong" || h.Checksum() == 0 {
		t.Fatalf("sent %+v err %v", o, err)
	}
	s := checksum.Pseudo(us, peer, 17, len(o.data))
	if checksum.Fold(checksum.Sum(o.data, s)) != 0xffff {
		t.Fatal("sent checksum does not verify")
	}
	if _, err := c.WriteToAddrPort([]byte("x"), netip.MustParseAddrPort("255.255.255.255:67")); !errors.Is(err, ErrBroadcast) {
		t.Fatalf("broadcast without SetBroadcast: %v", err)
	}
}

func TestQueueBound(t *testing.T) {
	ip := &fakeIP{}
	l := New(ip, &sync.Mutex{}, nil, Config{RecvQueue: 3})
	c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	for i := 0; i < 5; i++ {
		deliver(l, mkDatagram(1, 7, "d"), false)
	}
	l.lock.Lock()
	st := l.StatsLocked()
	l.lock.Unlock()
	if st.DropQueueFull != 2 || st.InDatagrams != 3 {
		t.Fatalf("stats %+v", st)
	}
	_ = c
}

func TestConnectedFiltersAndICMP(t *testing.T) {
	l, _, _ := newLayer(t)
	c, err := l.Dial(netip.MustParseAddrPort("10.0.2.2:53"))
	if err != nil {
		t.Fatal(err)
	}
	deliver(l, mkDatagram(54, c.Port(), "wrong port"), false)
	deliver(l, mkDatagram(53, c.Port(), "answer"), false)
	buf := make([]byte, 32)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "answer" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	// ICMP port unreachable quoting our datagram to 10.0.2.2:53.
	q := make([]byte, 28)
	q[0] = 0x45
	binary.BigEndian.PutUint16(q[20:], c.Port())
	binary.BigEndian.PutUint16(q[22:], 53)
	l.lock.Lock()
	l.Error(&transport.ControlError{Kind: transport.PortUnreachable, Src: us, Dst: peer, Proto: 17, Quoted: q[20:]})
	l.lock.Unlock()
	if _, err := c.Read(buf); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("read after ICMP: %v", err)
	}
}

func TestDeadlineAndCloseUnblock(t *testing.T) {
	l, _, _ := newLayer(t)
	c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	c.SetReadDeadline(time.Now().Add(-time.Second))
	_, _, err := c.ReadFrom(make([]byte, 8))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("past deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	errc := make(chan error)
	go func() { _, _, err := c.ReadFrom(make([]byte, 8)); errc <- err }()
	c.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadFrom")
	}
	if _, err := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7)); err != nil {
		t.Fatalf("port not freed by Close: %v", err)
	}
}

func TestEphemeralPortsRandomAndUnique(t *testing.T) {
	ip := &fakeIP{}
	l := New(ip, &sync.Mutex{}, seqReader{}, Config{EphemeralLow: 50000, EphemeralHigh: 50003})
	seen := map[uint16]bool{}
	for i := 0; i < 4; i++ {
		c, err := l.Dial(netip.MustParseAddrPort("10.0.2.2:53"))
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.Port()] || c.Port() < 50000 || c.Port() > 50003 {
			t.Fatalf("port %d reused or out of range", c.Port())
		}
		seen[c.Port()] = true
	}
	if _, err := l.Dial(netip.MustParseAddrPort("10.0.2.2:53")); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("exhausted range: %v", err)
	}
}

type seqReader struct{}

func (seqReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i * 37)
	}
	return len(p), nil
}

func TestDeliverReadNoAllocs(t *testing.T) {
	l, _, _ := newLayer(t)
	c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	d := mkDatagram(5000, 7, "steady state")
	buf := make([]byte, 64)
	p := &transport.Packet{Src: peer, Dst: us, Header: d, Payload: d}
	allocs := testing.AllocsPerRun(1000, func() {
		l.lock.Lock()
		l.Deliver(p)
		l.lock.Unlock()
		c.ReadFromAddrPort(buf)
	})
	if allocs != 0 {
		t.Fatalf("deliver+read allocated %.1f per datagram", allocs)
	}
}

// addrIP is a fakeIP whose Source follows a settable address, like
// ipv4.Layer: 0.0.0.0 for a broadcast while unaddressed, else ErrNoAddress.
type addrIP struct {
	fakeIP
	addr inet.Addr
}

func (f *addrIP) Source(dst inet.Addr) (inet.Addr, error) {
	if !f.addr.IsUnspecified() {
		return f.addr, nil
	}
	if dst == broadcast {
		return unspecified, nil
	}
	return unspecified, ipv4.ErrNoAddress
}

// A DHCP client socket (SetUnspecifiedSource) sends from 0.0.0.0 while the
// stack has no address, even to a unicast server, and from the address
// once the stack has one (RENEWING, RFC 2131 §4.4.5). Without the option a
// unicast send while unaddressed fails.
func TestUnspecifiedSourceFollowsAddress(t *testing.T) {
	ip := &addrIP{}
	l := New(ip, &sync.Mutex{}, nil, Config{})
	c, err := l.Bind(netip.MustParseAddrPort("0.0.0.0:68"))
	if err != nil {
		t.Fatal(err)
	}
	server := netip.MustParseAddrPort("10.0.2.2:67")
	bcast := netip.MustParseAddrPort("255.255.255.255:67")
	if _, err := c.WriteToAddrPort([]byte("x"), server); !errors.Is(err, ipv4.ErrNoAddress) {
		t.Fatalf("unicast while unaddressed without the option: %v, want ErrNoAddress", err)
	}
	c.SetBroadcast(true)
	c.SetUnspecifiedSource(true)
	for _, to := range []netip.AddrPort{bcast, server} {
		if _, err := c.WriteToAddrPort([]byte("x"), to); err != nil {
			t.Fatalf("send to %v while unaddressed: %v", to, err)
		}
	}
	ip.addr = us
	for _, to := range []netip.AddrPort{server, bcast} {
		if _, err := c.WriteToAddrPort([]byte("x"), to); err != nil {
			t.Fatalf("send to %v while addressed: %v", to, err)
		}
	}
	want := []struct{ src, dst inet.Addr }{
		{unspecified, broadcast}, {unspecified, peer},
		{us, peer}, {us, broadcast},
	}
	if len(ip.out) != len(want) {
		t.Fatalf("sent %d datagrams, want %d", len(ip.out), len(want))
	}
	for i, w := range want {
		got := ip.out[i]
		if got.src != w.src || got.dst != w.dst {
			t.Errorf("datagram %d: %v -> %v, want %v -> %v", i, got.src, got.dst, w.src, w.dst)
		}
		h, err := ParseHeader(got.data)
		if err != nil || !h.ValidChecksum(got.src, got.dst) || h.SrcPort() != 68 || h.DstPort() != 67 {
			t.Errorf("datagram %d: bad header (err %v)", i, err)
		}
	}
}

// Two readers blocked on one socket, two datagrams queued at once: both
// readers must get one. The readable signal is sent only when the queue
// becomes non-empty, so a reader that takes a datagram and leaves more
// behind must pass the wake-up on.
func TestConcurrentReadersBothWake(t *testing.T) {
	l, _, _ := newLayer(t)
	c, err := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan string, 2)
	for range 2 {
		go func() {
			b := make([]byte, 16)
			n, _, err := c.ReadFromAddrPort(b)
			if err != nil {
				got <- "err: " + err.Error()
				return
			}
			got <- string(b[:n])
		}()
	}
	time.Sleep(100 * time.Millisecond) // let both block
	l.lock.Lock()
	for _, s := range []string{"one", "two"} {
		d := mkDatagram(5000, 7, s)
		l.Deliver(&transport.Packet{Src: peer, Dst: us, Header: d, Payload: d})
	}
	l.lock.Unlock()
	for i := range 2 {
		select {
		case s := <-got:
			if s != "one" && s != "two" {
				t.Fatalf("reader %d: %s", i, s)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("only %d of 2 blocked readers woke for 2 queued datagrams", i)
		}
	}
}

// UDP's errors match their errno as TCP's do, so stack/socket (package
// net's sockets on tamago) passes them on untranslated.
func TestErrorsMatchErrno(t *testing.T) {
	l, _, _ := newLayer(t)
	if _, err := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7)); err != nil {
		t.Fatal(err)
	}
	_, err := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	if !errors.Is(err, ErrPortInUse) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second bind: %v", err)
	}
	for err, errno := range map[error]syscall.Errno{
		ErrNoPorts: syscall.EADDRNOTAVAIL, ErrTooLarge: syscall.EMSGSIZE,
		ErrUnreachable: syscall.ECONNREFUSED, transport.ErrAddrFamily: syscall.EAFNOSUPPORT,
	} {
		if !errors.Is(err, errno) {
			t.Errorf("%v does not match %v", err, errno)
		}
	}
}

// Deadlines run on the layer's clock (the stack's): in virtual time, a
// blocked ReadFrom times out when the clock passes its deadline, and not
// before.
func TestDeadlineVirtualTime(t *testing.T) {
	clk := clock.NewVirtual(time.Unix(1000, 0))
	l := New(&fakeIP{}, &sync.Mutex{}, nil, Config{Clock: clk})
	c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	defer c.Close()
	c.SetReadDeadline(clk.Now().Add(time.Minute))
	errc := make(chan error, 1)
	go func() { _, _, err := c.ReadFrom(make([]byte, 8)); errc <- err }()
	clk.Advance(59 * time.Second)
	select {
	case err := <-errc:
		t.Fatalf("ReadFrom returned before the deadline: %v", err)
	default:
	}
	clk.Advance(time.Second)
	select {
	case err := <-errc:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("after the deadline: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the virtual deadline did not end ReadFrom")
	}
	c.SetWriteDeadline(clk.Now().Add(-time.Second))
	if _, err := c.WriteToAddrPort([]byte("x"), netip.MustParseAddrPort("10.0.2.2:9")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write after its deadline: %v", err)
	}
}
