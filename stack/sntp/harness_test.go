package sntp

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
)

// The true time the fake servers keep (a board starts at vstart).
var trueStart = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

var (
	srvA = netip.MustParseAddrPort("10.0.0.1:123")
	srvB = netip.MustParseAddrPort("10.0.0.2:123")
)

// fakeServer answers requests in virtual time.
type fakeServer struct {
	offset time.Duration // its clock minus the virtual clock's wall reading
	delay  time.Duration // one way, each direction
	silent bool
	tamper func(f *Fields)       // edits the reply's fields
	raw    func(b []byte) []byte // edits the encoded reply
}

// sent is one request the client sent.
type sent struct {
	to    netip.AddrPort
	at    time.Time // virtual
	nonce Timestamp
	raw   []byte
}

// harness runs a Client on a virtual clock against fake servers through
// a fake Conn.
type harness struct {
	t       *testing.T
	vc      *clock.Virtual
	c       *Client
	servers map[netip.AddrPort]*fakeServer
	order   []netip.AddrPort

	mu      sync.Mutex
	sent    []sent
	sendErr error
}

func newHarness(t *testing.T, cfg Config, servers ...netip.AddrPort) *harness {
	t.Helper()
	h := &harness{t: t, vc: clock.NewVirtual(vstart), servers: map[netip.AddrPort]*fakeServer{}, order: servers}
	for _, s := range servers {
		h.servers[s] = &fakeServer{offset: trueStart.Sub(vstart), delay: 5 * time.Millisecond}
	}
	cfg.Clock = h.vc
	cfg.Conn = h
	if cfg.Servers == nil {
		cfg.Servers = func() []netip.AddrPort { return h.order }
	}
	cfg.Rand = rand.NewChaCha8([32]byte{1})
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	t.Cleanup(c.Stop)
	return h
}

// start starts the client (its first poll goes out at once).
func (h *harness) start() *harness {
	h.c.Start()
	h.c.sync()
	return h
}

func (h *harness) clock() *Clock { return h.c.Target().(*Clock) }

// trueNow is the servers' (correct) time.
func (h *harness) trueNow(s *fakeServer) time.Time { return h.vc.Now().Add(s.offset) }

func (h *harness) ReadFromAddrPort([]byte) (int, netip.AddrPort, error) {
	select {} // the tests feed Input directly
}

func (h *harness) WriteToAddrPort(b []byte, to netip.AddrPort) (int, error) {
	h.mu.Lock()
	err := h.sendErr
	if err == nil {
		h.sent = append(h.sent, sent{to: to, at: h.vc.Now(), nonce: Packet(b).Transmit(), raw: append([]byte(nil), b...)})
	}
	h.mu.Unlock()
	if err != nil {
		return 0, err
	}
	req, perr := ParsePacket(b)
	if perr != nil || req.Mode() != ModeClient {
		h.t.Errorf("client sent a bad request: % x", b)
		return len(b), nil
	}
	s := h.servers[to]
	if s == nil || s.silent {
		return len(b), nil
	}
	arrive := h.trueNow(s).Add(s.delay)
	f := Fields{
		Version: req.Version(), Mode: ModeServer, Stratum: 2, Precision: -20,
		RootDelay: ShortOf(10 * time.Millisecond), RootDispersion: ShortOf(20 * time.Millisecond),
		RefID: [4]byte{192, 0, 2, 1}, Reference: TimestampOf(arrive.Add(-time.Minute)),
		Origin: req.Transmit(), Receive: TimestampOf(arrive), Transmit: TimestampOf(arrive),
	}
	if s.tamper != nil {
		s.tamper(&f)
	}
	reply := make([]byte, HeaderLen)
	f.Encode(reply)
	if s.raw != nil {
		reply = s.raw(reply)
	}
	h.vc.AfterFunc(2*s.delay, func() { h.c.Input(reply, to) })
	return len(b), nil
}

// requests returns the requests sent so far.
func (h *harness) requests() []sent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]sent(nil), h.sent...)
}

// run moves virtual time forward by d, letting the client react to every
// timer on the way.
func (h *harness) run(d time.Duration) {
	end := h.vc.Now().Add(d)
	for {
		h.c.sync()
		next, ok := h.vc.NextDeadline()
		if !ok || next.After(end) {
			break
		}
		h.vc.Advance(next.Sub(h.vc.Now()))
	}
	h.vc.Advance(end.Sub(h.vc.Now()))
	h.c.sync()
}

// error of the disciplined clock against the true time.
func (h *harness) clockError() time.Duration {
	return h.clock().Now().Sub(h.trueNow(h.servers[h.order[0]]))
}

var errRefused = errors.New("refused")

// inClient runs f in the client's goroutine (to look at its state).
func (h *harness) inClient(f func(*Client)) {
	done := make(chan struct{})
	h.c.ctl <- func() bool { f(h.c); close(done); return true }
	<-done
}
