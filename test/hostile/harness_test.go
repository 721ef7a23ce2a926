package hostile

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/tcp"
)

// fakeDev is the victim's netif.Device: it checks every transmitted frame
// with stacktest's FrameChecker (the stack's own parsers, checksums,
// fragments, RFC 1122 §3.2.2 for ICMP errors) whether or not it records
// it, records it unless told not to (floods), and lets the test inject
// raw frames by calling the stack's handler. It
// answers ARP requests for harness-owned addresses (every on-link address
// but the victim's), and Neighbor Solicitations the victim sends to
// resolve or probe a neighbor (autoNA), by queueing a reply that inject
// delivers after the current frame: replying from inside Transmit would
// re-enter the stack lock.
type fakeDev struct {
	mu      sync.Mutex
	h       netif.Handler
	tx      [][]byte
	txCount int
	record  bool
	autoARP bool
	replies [][]byte
	ctr     netif.Counters
	check   *stacktest.FrameChecker
	bad     error // the first frame check failure
}

func (d *fakeDev) MAC() inet.MAC            { return victimMAC }
func (d *fakeDev) MTU() int                 { return 1500 }
func (d *fakeDev) Headroom() int            { return 0 }
func (d *fakeDev) Offloads() netif.Offloads { return netif.Offloads{} }
func (d *fakeDev) LinkUp() bool             { return true }
func (d *fakeDev) Close() error             { return nil }
func (d *fakeDev) Stats() netif.Stats {
	return d.ctr.Snapshot()
}

func (d *fakeDev) SetHandler(h netif.Handler) {
	d.mu.Lock()
	d.h = h
	d.mu.Unlock()
}

func (d *fakeDev) Transmit(b *pkt.Buf) error {
	f := make([]byte, b.Len())
	b.CopyTo(f)
	d.ctr.CountTx(len(f))
	d.mu.Lock()
	defer d.mu.Unlock()
	d.txCount++
	if _, err := d.check.Add(f); err != nil && d.bad == nil {
		d.bad = err
	}
	if d.record {
		d.tx = append(d.tx, f)
	}
	if d.autoARP {
		if r := autoNA(f); r != nil {
			d.replies = append(d.replies, r)
		}
	}
	if d.autoARP && len(f) >= 42 && binary.BigEndian.Uint16(f[12:]) == ethARP &&
		binary.BigEndian.Uint16(f[20:]) == 1 {
		var tpa inet.Addr4
		copy(tpa[:], f[38:42])
		if onLink(tpa) && tpa != victimIP && tpa != bcastIP && tpa[3] != 0 {
			m := macOf(tpa)
			d.replies = append(d.replies, eth(victimMAC, m, ethARP, arpb(2, m, tpa, victimMAC, victimIP)))
		}
	}
	return nil
}

// victim is a stack under attack, driven in virtual time.
type victim struct {
	t   testing.TB
	dev *fakeDev
	s   *stack.Stack
	clk *clock.Virtual
}

// newVictim builds a stack at 10.0.0.1/24 (gateway 10.0.0.254) on a fake
// device with a virtual clock and a seeded random source (seed 1 unless
// cfg.Rand is set). It primes the ARP cache with the peer and the gateway.
func newVictim(t testing.TB, cfg stack.Config) *victim {
	t.Helper()
	v := &victim{t: t, dev: &fakeDev{record: true, autoARP: true, check: stacktest.NewFrameChecker(victimMAC, victimIP)}}
	t.Cleanup(func() {
		if err := v.dev.checked(); err != nil {
			t.Errorf("victim sent a bad frame: %v", err)
		}
	})
	v.clk = clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg.Addr = inet.Prefix4{Addr: victimIP, Bits: 24}
	cfg.Gateway = gwIP
	cfg.Clock = v.clk
	if cfg.Rand == nil {
		cfg.Rand = rand.NewChaCha8([32]byte{1})
	}
	s, err := stack.New(v.dev, cfg)
	if err != nil {
		t.Fatal(err)
	}
	v.s = s
	t.Cleanup(func() { s.Close() })
	// Requests aimed at us create cache entries (RFC 826 merge rule).
	v.inject(eth(inet.BroadcastMAC, peerMAC, ethARP, arpb(1, peerMAC, peerIP, inet.MAC{}, victimIP)))
	v.inject(eth(inet.BroadcastMAC, gwMAC, ethARP, arpb(1, gwMAC, gwIP, inet.MAC{}, victimIP)))
	v.take()
	return v
}

// inject hands one frame to the victim, then any queued ARP replies.
func (v *victim) inject(f []byte) {
	v.dev.mu.Lock()
	h := v.dev.h
	v.dev.mu.Unlock()
	if h == nil {
		v.t.Fatal("no handler installed")
	}
	h(f, netif.RxMeta{})
	v.flush()
}

func (v *victim) flush() {
	for {
		v.dev.mu.Lock()
		if len(v.dev.replies) == 0 {
			v.dev.mu.Unlock()
			return
		}
		r := v.dev.replies[0]
		v.dev.replies = v.dev.replies[1:]
		h := v.dev.h
		v.dev.mu.Unlock()
		h(r, netif.RxMeta{})
	}
}

// advance moves virtual time forward by d in steps of at most 100ms, so
// that ARP replies queued by timers are delivered between steps.
func (v *victim) advance(d time.Duration) {
	for d > 0 {
		st := min(d, 100*time.Millisecond)
		v.clk.Advance(st)
		v.flush()
		d -= st
	}
}

// checked returns the first failure of the frame checker, if any: a bad
// frame, or fragments of a datagram sent in part.
func (d *fakeDev) checked() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bad != nil {
		return d.bad
	}
	return d.check.Pending()
}

// take returns and forgets the frames sent so far. It fails the test if
// anything sent so far, recorded or not, failed the frame checker.
func (v *victim) take() [][]byte {
	v.t.Helper()
	if err := v.dev.checked(); err != nil {
		v.t.Fatalf("victim sent a bad frame: %v", err)
	}
	v.dev.mu.Lock()
	defer v.dev.mu.Unlock()
	tx := v.dev.tx
	v.dev.tx = nil
	return tx
}

// sent parses and returns the frames sent so far (and forgets them). A
// malformed frame from the victim fails the test.
func (v *victim) sent() []*outFrame {
	v.t.Helper()
	var out []*outFrame
	for _, f := range v.take() {
		o, err := parseOut(f)
		if err != nil {
			v.t.Fatalf("victim sent a malformed frame: %v (% x)", err, f)
		}
		out = append(out, o)
	}
	return out
}

// sentTCP returns the TCP segments sent so far (and forgets all frames).
func (v *victim) sentTCP() []*outSeg {
	var s []*outSeg
	for _, o := range v.sent() {
		if o.tcp != nil {
			s = append(s, o.tcp)
		}
	}
	return s
}

func (v *victim) stats() stack.Stats { return v.s.Stats() }

// listen opens a victim listener.
func (v *victim) listen(port uint16) *tcp.Listener {
	v.t.Helper()
	ln, err := v.s.TCP().Listen(port)
	if err != nil {
		v.t.Fatal(err)
	}
	return ln
}

// peer is a scripted TCP peer talking to a victim connection: the
// harness's "established connection" that every attack must leave
// working.
type peer struct {
	v            *victim
	ip           inet.Addr4
	port, vport  uint16
	iss          uint32
	sndNxt       uint32 // our next sequence number
	rcvNxt       uint32 // the victim's next expected byte
	sndWnd       uint32 // victim's advertised window (unscaled)
	ts           bool
	tsVal, tsEcr uint32
	conn         *tcp.Conn
	got          []byte // in-order data received from the victim
	synack       *outSeg
	n            int
}

// establish connects a scripted peer (ip:port, default 10.0.0.2:40000) to
// the victim's listener ln and accepts the victim's side.
func establish(v *victim, ln *tcp.Listener, ip inet.Addr4, port uint16, ts bool) *peer {
	v.t.Helper()
	opts := optMSS(1460)
	if ts {
		opts = cat(opts, optTS(5000, 0))
	}
	return establishOpts(v, ln, ip, port, opts, ts)
}

// establishOpts is establish with the given SYN options; ts says whether
// they include timestamps (starting at TSval 5000).
func establishOpts(v *victim, ln *tcp.Listener, ip inet.Addr4, port uint16, opts []byte, ts bool) *peer {
	v.t.Helper()
	p := &peer{v: v, ip: ip, port: port, vport: ln.Port(), iss: 1000000 + uint32(port)*7, ts: ts, tsVal: 5000}
	v.inject(tcpFrame(ip, seg{sport: port, dport: p.vport, seq: p.iss, flags: fSYN, win: 65535, opts: opts}))
	var synack *outSeg
	for _, s := range v.sentTCP() {
		if s.dport == port && s.flags&(fSYN|fACK) == fSYN|fACK {
			synack = s
		}
	}
	if synack == nil {
		v.t.Fatalf("no SYN-ACK for %v:%d", ip, port)
	}
	if synack.ack != p.iss+1 {
		v.t.Fatalf("SYN-ACK acks %d, want %d", synack.ack, p.iss+1)
	}
	if _, _, hasTS, val, _ := parseTCPOpts(synack.opts); hasTS {
		p.tsEcr = val
	}
	p.synack = synack
	p.sndNxt, p.rcvNxt, p.sndWnd = p.iss+1, synack.seq+1, uint32(synack.win)
	p.send(fACK, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		c, err := ln.AcceptContext(ctx)
		if err != nil {
			v.t.Fatalf("accept: %v", err)
		}
		ra := c.RemoteAddr().(*net.TCPAddr)
		if ra.Port == int(port) && ra.IP.Equal(net.IP(ip[:])) {
			p.conn = c
			return p
		}
		c.Abort() // queued by an earlier (fuzzed) handshake
	}
}

// opts returns the options every segment of ours carries.
func (p *peer) opts() []byte {
	if !p.ts {
		return nil
	}
	p.tsVal++
	return optTS(p.tsVal, p.tsEcr)
}

// send sends flags and payload at sndNxt/rcvNxt and advances sndNxt.
func (p *peer) send(flags uint8, payload []byte) {
	p.v.inject(p.frame(flags, payload))
	p.sndNxt += uint32(len(payload))
	if flags&(fSYN) != 0 {
		p.sndNxt++
	}
	if flags&fFIN != 0 {
		p.sndNxt++
	}
}

// frame builds (without sending) a segment at sndNxt/rcvNxt.
func (p *peer) frame(flags uint8, payload []byte) []byte {
	return tcpFrame(p.ip, seg{sport: p.port, dport: p.vport, seq: p.sndNxt, ack: p.rcvNxt,
		flags: flags, win: 65535, opts: p.opts(), payload: payload})
}

// raw sends an arbitrary segment on this connection's 4-tuple.
func (p *peer) raw(s seg) {
	s.sport, s.dport = p.port, p.vport
	if s.win == 0 && s.flags&fRST == 0 && !s.zeroWin {
		s.win = 65535
	}
	p.v.inject(tcpFrame(p.ip, s))
}

// absorb reads segments sent to this peer, appends in-order data to got
// and returns the segments. Segments for others are returned in rest.
func (p *peer) absorb(segs []*outSeg) (mine []*outSeg) {
	for _, s := range segs {
		if s.dst != p.ip || s.dport != p.port || s.sport != p.vport {
			continue
		}
		mine = append(mine, s)
		if _, _, hasTS, val, _ := parseTCPOpts(s.opts); hasTS {
			p.tsEcr = val
		}
		if len(s.payload) > 0 && s.seq == p.rcvNxt {
			p.got = append(p.got, s.payload...)
			p.rcvNxt += uint32(len(s.payload))
		}
		if s.flags&fFIN != 0 && s.seq+uint32(len(s.payload)) == p.rcvNxt {
			p.rcvNxt++
		}
		p.sndWnd = uint32(s.win)
	}
	return mine
}

// read reads exactly len(want) bytes from the victim connection, with a
// real-time guard so a bug cannot hang the suite.
func (p *peer) read(n int) ([]byte, error) {
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		b := make([]byte, n)
		got := 0
		for got < n {
			m, err := p.conn.Read(b[got:])
			got += m
			if err != nil {
				ch <- res{b[:got], err}
				return
			}
		}
		ch <- res{b, nil}
	}()
	select {
	case r := <-ch:
		return r.b, r.err
	case <-time.After(10 * time.Second):
		p.v.t.Fatalf("victim Read did not return")
		return nil, nil
	}
}

// alive proves the connection still carries data both ways: victim ->
// peer (a Write, checked on the wire) and peer -> victim (a segment,
// checked through Read).
func (p *peer) alive() {
	t := p.v.t
	t.Helper()
	if st := p.conn.State(); st != tcp.Established {
		t.Fatalf("established connection is now %v", st)
	}
	p.n++
	msg := []byte("victim->peer #" + itoa(p.n))
	p.absorb(p.v.sentTCP())
	start := len(p.got)
	if _, err := p.conn.Write(msg); err != nil {
		t.Fatalf("victim Write: %v", err)
	}
	for i := 0; i < 50 && len(p.got) < start+len(msg); i++ {
		p.absorb(p.v.sentTCP())
		if len(p.got) >= start+len(msg) {
			break
		}
		p.send(fACK, nil)
		p.v.advance(250 * time.Millisecond)
	}
	if string(p.got[start:min(len(p.got), start+len(msg))]) != string(msg) {
		t.Fatalf("victim->peer data lost: got %q, want %q", p.got[start:], msg)
	}
	back := []byte("peer->victim #" + itoa(p.n))
	p.send(fACK|fPSH, back)
	b, err := p.read(len(back))
	if err != nil || string(b) != string(back) {
		t.Fatalf("peer->victim: read %q, %v; want %q", b, err, back)
	}
	p.absorb(p.v.sentTCP())
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// torture skips t unless MIRAGO_TORTURE is set.
func torture(t *testing.T) {
	if os.Getenv("MIRAGO_TORTURE") == "" {
		// skip-ok: an opt-in long run (make torture), not a missing requirement.
		t.Skip("long test: set MIRAGO_TORTURE=1 (make torture)")
	}
}

// noPanic runs f and fails t with the frame if f panics.
func noPanic(t testing.TB, what string, frame []byte, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic on %s: %v\nframe: % x", what, r, frame)
		}
	}()
	f()
}

// mustWrite writes data that fits the send buffer (it does not block).
func mustWrite(t testing.TB, p *peer, data []byte) {
	t.Helper()
	if n, err := p.conn.Write(data); n != len(data) || err != nil {
		t.Fatalf("victim Write: %d, %v", n, err)
	}
}
