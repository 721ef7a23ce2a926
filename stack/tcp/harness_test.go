package tcp

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/transport"
)

// The test harness: two Layers joined by an in-memory IP with a seeded
// fault injector. Every segment written is copied into the network's
// queue; the test loop (run) delivers due segments with the receiver's
// lock held and advances the virtual clock, so delivery never re-enters a
// layer from inside its own Write.

var (
	addrA = inet.AddrFrom4(inet.MustParseAddr4("10.0.0.1"))
	addrB = inet.AddrFrom4(inet.MustParseAddr4("10.0.0.2"))
)

// faults configures the injector; probabilities in [0,1].
type faults struct {
	loss, reorder, dup, corrupt float64
	delay                       time.Duration // one-way base delay
	jitter                      time.Duration // extra delay for reordered segments
}

type packet struct {
	at       time.Time
	n        uint64
	to       int
	queued   bool // counted in testNet.inDev of side 1-to
	src, dst inet.Addr
	data     []byte
	verified bool // the checksum was left to the device: delivered as CsumVerified
}

type pktHeap []*packet

func (h pktHeap) Len() int { return len(h) }
func (h pktHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].n < h[j].n
	}
	return h[i].at.Before(h[j].at)
}
func (h pktHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pktHeap) Push(x any)   { *h = append(*h, x.(*packet)) }
func (h *pktHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	*h = old[:len(old)-1]
	return p
}

type endpoint struct {
	mu   sync.Mutex
	q    *timer.Queue
	l    *Layer
	addr inet.Addr
	ip   *fakeIP
}

type fakeIP struct {
	n    *testNet
	side int
	mtu  int
	drop bool // blackhole outbound
	busy bool // refuse every segment with netif.ErrBusy (scripted tests)
	off  netif.Offloads
}

func (f *fakeIP) Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	if f.busy || f.n.deviceFull(f.side) {
		return netif.ErrBusy
	}
	p := make([]byte, b.Len())
	b.CopyTo(p)
	if b.GSO() != pkt.GSONone && !f.off.TxChecksum {
		f.n.t.Errorf("TSO segment to a device without offloads")
	}
	f.n.enqueue(f.side, src, dst, p, f.drop, b.Offload().NeedsCsum)
	return nil
}
func (f *fakeIP) Headroom() int                     { return 34 }
func (f *fakeIP) Offloads() netif.Offloads          { return f.off }
func (f *fakeIP) MTU(inet.Addr) int                 { return f.mtu }
func (f *fakeIP) PortUnreachable(*transport.Packet) {}
func (f *fakeIP) Source(dst inet.Addr) (inet.Addr, error) {
	return f.n.ends[f.side].addr, nil
}

type testNet struct {
	t      testing.TB
	clk    *clock.Virtual
	ends   [2]*endpoint
	mu     sync.Mutex
	rng    *rand.Rand
	f      faults
	q      pktHeap
	n      uint64
	sent   [2]int
	tap    func(from int, data []byte)      // sees every segment sent
	drop   func(from int, data []byte) bool // drops the segments it returns true for (before the injector)
	onLost func(from int, data []byte)      // sees segments the injector drops
	stats  struct{ lost, dup, corrupt, reordered int }

	// A bounded device queue per side (0: none): at most devCap[i] of
	// side i's segments wait for delivery; more are refused with
	// netif.ErrBusy, and once the queue is down to half, side i is told
	// (Layer.TxRoomLocked) unless noRoom[i]. refused counts refusals.
	devCap   [2]int
	inDev    [2]int
	wantRoom [2]bool
	noRoom   [2]bool
	refused  [2]int
}

// deviceFull reports whether side i's device queue refuses a segment now
// (and, if so, that side waits for room).
func (n *testNet) deviceFull(i int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.devCap[i] == 0 || n.inDev[i] < n.devCap[i] {
		return false
	}
	n.refused[i]++
	n.wantRoom[i] = true
	return true
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newTestNet(t testing.TB, seed uint64, f faults, cfgA, cfgB Config) *testNet {
	return newTestNetOffload(t, seed, f, cfgA, cfgB, netif.Offloads{})
}

// offloads are a virtio-net device's (netif.Offloads): the network then
// carries TSO segments whole and delivers a checksum left partial as
// verified, as between two guests of one host.
var offloads = netif.Offloads{TxChecksum: true, TSO4Max: 65535, TSO6Max: 65535, RxChecksum: true, LargeReceive: 65535 + 14}

// newTestNetOffload is newTestNet with both ends on devices with off.
func newTestNetOffload(t testing.TB, seed uint64, f faults, cfgA, cfgB Config, off netif.Offloads) *testNet {
	n := &testNet{t: t, clk: clock.NewVirtual(epoch), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), f: f}
	for i, a := range []inet.Addr{addrA, addrB} {
		e := &endpoint{addr: a}
		e.q = timer.New(n.clk, &e.mu)
		e.ip = &fakeIP{n: n, side: i, mtu: 1500, off: off}
		cfg := cfgA
		if i == 1 {
			cfg = cfgB
		}
		e.l = mustNew(e.ip, e.q, &e.mu, seededReader(seed+uint64(i)), cfg)
		n.ends[i] = e
	}
	return n
}

func seededReader(seed uint64) *rand.ChaCha8 {
	var k [32]byte
	binary.LittleEndian.PutUint64(k[:], seed)
	return rand.NewChaCha8(k)
}

func (n *testNet) enqueue(from int, src, dst inet.Addr, p []byte, blackhole, partial bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent[from]++
	if n.tap != nil {
		n.tap(from, p)
	}
	if blackhole || n.drop != nil && n.drop(from, p) {
		return
	}
	if n.rng.Float64() < n.f.loss {
		n.stats.lost++
		if n.onLost != nil {
			n.onLost(from, p)
		}
		return
	}
	copies := 1
	if n.rng.Float64() < n.f.dup {
		n.stats.dup++
		copies = 2
	}
	for i := 0; i < copies; i++ {
		d := p
		if i > 0 {
			d = append([]byte(nil), p...)
		}
		verified := partial
		if n.rng.Float64() < n.f.corrupt {
			n.stats.corrupt++
			d = append([]byte(nil), d...)
			if partial {
				// The sending device computes the checksum before the
				// wire corrupts the segment; the receiver checks it.
				d[16], d[17] = 0, 0
				cs := checksum.Checksum(d, checksum.Pseudo(src, dst, inet.ProtoTCP, len(d)))
				d[16], d[17] = byte(cs>>8), byte(cs)
				verified = false
			}
			d[n.rng.IntN(len(d))] ^= byte(1 + n.rng.IntN(255))
		}
		delay := n.f.delay
		if n.rng.Float64() < n.f.reorder && n.f.jitter > 0 {
			n.stats.reordered++
			delay += time.Duration(n.rng.Int64N(int64(n.f.jitter)))
		}
		n.n++
		queued := n.devCap[from] > 0
		if queued {
			n.inDev[from]++
		}
		heap.Push(&n.q, &packet{at: n.clk.Now().Add(delay), n: n.n, to: 1 - from, src: src, dst: dst, data: d, verified: verified, queued: queued})
	}
}

// step delivers one due packet, or advances the clock to the next event.
// It reports false when nothing at all is pending.
func (n *testNet) step(limit time.Time) bool {
	now := n.clk.Now()
	n.mu.Lock()
	var p *packet
	if len(n.q) > 0 && !n.q[0].at.After(now) {
		p = heap.Pop(&n.q).(*packet)
	}
	var next time.Time
	if len(n.q) > 0 {
		next = n.q[0].at
	}
	n.mu.Unlock()
	if p != nil {
		e := n.ends[p.to]
		e.mu.Lock()
		e.l.Deliver(&transport.Packet{Src: p.src, Dst: p.dst, Payload: p.data, CsumVerified: p.verified})
		e.mu.Unlock()
		if p.queued {
			n.dequeued(1 - p.to)
		}
		return true
	}
	if d, ok := n.clk.NextDeadline(); ok && (next.IsZero() || d.Before(next)) {
		next = d
	}
	if next.IsZero() {
		return false
	}
	if next.After(limit) {
		next = limit
	}
	if next.After(now) {
		n.clk.Advance(next.Sub(now))
	} else {
		n.clk.Advance(0)
	}
	return true
}

// dequeued frees a slot of side i's device queue and tells side i when
// the queue is down to half after a refusal.
func (n *testNet) dequeued(i int) {
	n.mu.Lock()
	n.inDev[i]--
	room := n.wantRoom[i] && n.inDev[i] <= n.devCap[i]/2 && !n.noRoom[i]
	if room {
		n.wantRoom[i] = false
	}
	n.mu.Unlock()
	if room {
		n.lockedDo(i, func(l *Layer) { l.TxRoomLocked() })
	}
}

// run steps until done returns true or virtual time passes max. It
// returns false on timeout or when the network goes idle.
func (n *testNet) run(max time.Duration, done func() bool) bool {
	limit := n.clk.Now().Add(max)
	for !done() {
		if !n.clk.Now().Before(limit) {
			return false
		}
		if !n.step(limit) {
			return done()
		}
	}
	return true
}

// lockedDo runs f with side i's lock held.
func (n *testNet) lockedDo(i int, f func(l *Layer)) {
	e := n.ends[i]
	e.mu.Lock()
	defer e.mu.Unlock()
	f(e.l)
}

// connect opens a connection from A (client) to B (server) on port in
// virtual time, without blocking calls: Dial's first half is done by hand.
func (n *testNet) connect(port uint16) (client, server *Conn) {
	n.t.Helper()
	var ln *Listener
	var err error
	ln, err = n.ends[1].l.Listen(port)
	if err != nil {
		n.t.Fatal(err)
	}
	n.lockedDo(0, func(l *Layer) { client = l.startDial(n.ends[1].addr, port) })
	ok := n.run(time.Minute, func() bool {
		var done bool
		n.lockedDo(1, func(*Layer) { done = len(ln.queue) > 0 })
		var est bool
		n.lockedDo(0, func(*Layer) { est = client.state == Established })
		return done && est
	})
	if !ok {
		n.t.Fatal("connect: handshake did not complete")
	}
	server, err = ln.AcceptTCP()
	if err != nil {
		n.t.Fatal(err)
	}
	return client, server
}

// startDial is the non-blocking part of DialFrom, for virtual-time tests.
func (l *Layer) startDial(dst inet.Addr, port uint16) *Conn {
	src, _ := l.ip.Source(dst)
	id := tuple{laddr: src, raddr: dst, rport: port}
	p, _ := l.pickPort(id)
	id.lport = p
	c := l.newConn(id)
	c.f |= fActive | fAccepted
	c.setState(SynSent)
	l.conns[id] = c
	c.rttAt = l.now()
	c.sendSYN()
	c.armRTX()
	return c
}

// tryWrite and tryRead are non-blocking Write/Read for the test loop.
func (c *Conn) tryWrite(p []byte) int {
	if c.writeErr() != nil {
		return 0
	}
	k := c.txAppend(p)
	if k > 0 {
		c.output()
	}
	return k
}

func (c *Conn) tryRead(p []byte) (int, bool) {
	if c.rxLen() > 0 {
		return c.readLocked(p), false
	}
	return 0, c.f&fFinRcvd != 0
}

// ---- scripted peer ----

// seg describes a segment for the scripted peer to send or expect.
type seg struct {
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
	wnd          uint16
	opts         []byte
	data         []byte
}

func (s seg) bytes(src, dst inet.Addr) []byte {
	opts := s.opts
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	b := make([]byte, HeaderLen+len(opts)+len(s.data))
	f := Fields{SrcPort: s.sport, DstPort: s.dport, Seq: s.seq, Ack: s.ack, Flags: s.flags, Window: s.wnd}
	f.Options = opts
	f.Encode(b)
	copy(b[HeaderLen+len(opts):], s.data)
	cs := checksum.Checksum(b, checksum.Pseudo(src, dst, inet.ProtoTCP, len(b)))
	binary.BigEndian.PutUint16(b[16:], cs)
	return b
}

// peer is a scripted remote end for one Layer under test (side 0 of a
// testNet whose side 1 is not used): segments the layer sends are
// captured; the test injects segments by hand.
type peer struct {
	t   testing.TB
	n   *testNet
	e   *endpoint
	out chan []byte
}

func newPeer(t testing.TB, cfg Config) *peer { return newPeerN(t, cfg, 1<<14) }

// newPeerN is newPeer keeping at most n captured segments.
func newPeerN(t testing.TB, cfg Config, n int) *peer {
	net := newTestNet(t, 1, faults{}, cfg, cfg)
	p := &peer{t: t, n: net, e: net.ends[0], out: make(chan []byte, n)}
	net.ends[0].ip.drop = true
	net.tap = func(from int, data []byte) {
		if from == 0 {
			select {
			case p.out <- append([]byte(nil), data...):
			default:
			}
		}
	}
	return p
}

// send injects s (from addrB to addrA).
func (p *peer) send(s seg) {
	b := s.bytes(addrB, addrA)
	p.e.mu.Lock()
	p.e.l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: b})
	p.e.mu.Unlock()
}

// next returns the next segment the layer sent; it fails after a
// real-time bound (only reached when the test fails).
func (p *peer) next() Header {
	p.t.Helper()
	select {
	case b := <-p.out:
		h, err := ParseHeader(b)
		if err != nil {
			p.t.Fatalf("layer sent a bad segment: %v", err)
		}
		p.settle()
		return h
	case <-time.After(5 * time.Second):
		p.t.Fatal("expected a segment, got none")
	}
	return nil
}

// settle waits until the layer leaves the locked section in which it sent
// the segment just read (Dial sends its SYN, then arms the retransmission
// timer, under one lock): the test must not advance virtual time before
// the timers that section arms exist.
func (p *peer) settle() {
	p.e.l.lock.Lock()
	p.e.l.lock.Unlock()
}

// none checks that nothing was sent.
func (p *peer) none() {
	p.t.Helper()
	select {
	case b := <-p.out:
		h, _ := ParseHeader(b)
		p.t.Fatalf("expected no segment, got %s", describe(h))
	default:
	}
}

// drain discards captured segments.
func (p *peer) drain() {
	for {
		select {
		case <-p.out:
		default:
			return
		}
	}
}

func (p *peer) advance(d time.Duration) { p.n.clk.Advance(d) }

func describe(h Header) string {
	if h == nil {
		return "<nil>"
	}
	return fmt.Sprintf("[%s seq=%d ack=%d wnd=%d len=%d]", flagString(h.Flags()), h.Seq(), h.Ack(), h.Window(), len(h.Payload()))
}

func flagString(f uint8) string {
	var b bytes.Buffer
	for i, n := range []string{"F", "S", "R", "P", "A", "U", "E", "C"} {
		if f&(1<<i) != 0 {
			b.WriteString(n)
		}
	}
	return b.String()
}

// expect checks the next segment's flags (exactly) and, when non-nil, seq
// and ack.
func (p *peer) expect(flags uint8, seq, ack *uint32) Header {
	p.t.Helper()
	h := p.next()
	if h.Flags() != flags {
		p.t.Fatalf("got %s, want flags %s", describe(h), flagString(flags))
	}
	if seq != nil && h.Seq() != *seq {
		p.t.Fatalf("got %s, want seq %d", describe(h), *seq)
	}
	if ack != nil && h.Ack() != *ack {
		p.t.Fatalf("got %s, want ack %d", describe(h), *ack)
	}
	return h
}

func u32(v uint32) *uint32 { return &v }

func (c *Conn) debugString() string {
	return fmt.Sprintf("%s una=%d nxt=%d max=%d wnd=%d cwnd=%d ssth=%d rto=%v bo=%d tmode=%d rtxPending=%v txlen=%d rcvNxt=%d rcvAdv=%d rxlen=%d f=%#x dup=%d recover=%d tsRecent=%d myTS=%d lastAck=%d",
		c.state, c.sndUna-c.iss, c.sndNxt-c.iss, c.sndMax-c.iss, c.sndWnd, c.cc.cwnd, c.cc.ssthresh, c.rto, c.backoff, c.tmode, c.rtx.Pending(), c.txLen(), c.rcvNxt-c.irs, c.rcvAdv-c.irs, c.rxLen(), c.f, c.dupAcks, c.recover-c.iss, c.tsRecent, c.l.tsNow()+c.tsOff, c.lastAck-c.irs)
}

func addrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func checksumOf(b []byte) uint16 {
	return checksum.Checksum(b, checksum.Pseudo(addrB, addrA, inet.ProtoTCP, len(b)))
}

// lockedStats is StatsLocked for tests that do not hold the lock: it
// takes it.
func (l *Layer) lockedStats() Stats {
	l.lock.Lock()
	defer l.lock.Unlock()
	return l.StatsLocked()
}

// mustNew is New for tests, whose seeded readers do not fail.
func mustNew(ip transport.Network, q *timer.Queue, lock sync.Locker, rnd io.Reader, cfg Config) *Layer {
	l, err := New(ip, q, lock, rnd, cfg)
	if err != nil {
		panic(err)
	}
	return l
}
