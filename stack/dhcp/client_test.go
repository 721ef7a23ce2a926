package dhcp

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
)

var (
	clientMAC = inet.MAC{0x02, 0, 0, 0, 0, 0x15}
	serverIP  = inet.MustParseAddr4("10.0.2.2")
	leasedIP  = inet.MustParseAddr4("10.0.2.15")
)

type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

// sent is one datagram the client transmitted.
type sent struct {
	at  time.Time
	dst inet.Addr4
	m   *Message
}

// harness runs a Client in virtual time against a scripted server: the
// test reads what the client sent and feeds it replies.
type harness struct {
	t  *testing.T
	vc *clock.Virtual
	c  *Client

	mu      sync.Mutex
	out     []sent
	bound   []Lease
	expired int
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, vc: clock.NewVirtual(testStart)}
	c, err := New(Config{
		MAC:       clientMAC,
		Transport: h,
		Clock:     h.vc,
		Rand:      seeded{rand.NewChaCha8([32]byte{7})},
		Hostname:  "mirago",
		OnBound: func(l Lease) {
			h.mu.Lock()
			h.bound = append(h.bound, l)
			h.mu.Unlock()
		},
		OnExpire: func() {
			h.mu.Lock()
			h.expired++
			h.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	t.Cleanup(c.Stop)
	return h
}

// Send implements Transport.
func (h *harness) Send(dst inet.Addr4, p []byte) error {
	m, err := ParseMessage(p)
	if err != nil {
		h.t.Errorf("client sent an unparsable message: %v", err)
		return nil
	}
	if len(p) < minSize {
		h.t.Errorf("client sent %d bytes, below the BOOTP minimum", len(p))
	}
	h.mu.Lock()
	h.out = append(h.out, sent{h.vc.Now(), dst, m})
	h.mu.Unlock()
	return nil
}

// take returns and forgets what the client sent so far.
func (h *harness) take() []sent {
	h.c.sync()
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.out
	h.out = nil
	return s
}

// expect asserts that exactly one message of type t was sent to dst.
func (h *harness) expect(t MessageType, dst inet.Addr4) *Message {
	h.t.Helper()
	s := h.take()
	if len(s) != 1 || s[0].m.Type() != t || s[0].dst != dst {
		h.t.Fatalf("sent %s; want one type %d to %v", describe(s), t, dst)
	}
	return s[0].m
}

func describe(s []sent) string {
	out := "["
	for _, x := range s {
		out += " " + x.at.Sub(testStart).String() + ":type" + string('0'+rune(x.m.Type())) + "->" + x.dst.String()
	}
	return out + " ]"
}

// advance moves virtual time forward by d, letting the client goroutine
// handle each timer before the next one is due.
func (h *harness) advance(d time.Duration) {
	end := h.vc.Now().Add(d)
	for {
		h.c.sync()
		next, ok := h.vc.NextDeadline()
		if !ok || next.After(end) {
			h.vc.Advance(end.Sub(h.vc.Now()))
			h.c.sync()
			return
		}
		h.vc.Advance(next.Sub(h.vc.Now()))
	}
}

// reply sends the server's answer of type t to request req.
func (h *harness) reply(req *Message, t MessageType, edit ...func(*Message)) {
	m := &Message{Op: OpReply, HType: 1, HLen: 6, XID: req.XID, CHAddr: req.CHAddr, Options: Options{{OptMessageType, []byte{byte(t)}}, {OptServerID, serverIP[:]}}}
	if t != Nak {
		m.YIAddr = leasedIP
		m.Options = append(m.Options, Options{
			{OptLeaseTime, u32(3600)}, {OptSubnetMask, addr("255.255.255.0")}, {OptRouter, serverIP[:]},
			{OptDNS, addr("10.0.2.3")}, {OptInterfaceMTU, []byte{0x05, 0xdc}},
			{OptNTP, append(addr("10.0.2.4"), addr("10.0.2.5")...)},
		}...)
	}
	for _, e := range edit {
		e(m)
	}
	h.c.Input(encode(m))
	h.c.sync()
}

func (h *harness) counts() (int, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bound), h.expired
}

// bind runs discover → offer → request → ack and checks every step.
func (h *harness) bind() Lease {
	h.t.Helper()
	h.c.Start()
	d := h.expect(Discover, inet.IPv4Broadcast)
	if d.Flags != FlagBroadcast || !d.CIAddr.IsUnspecified() || d.CHAddr != [16]byte{0x02, 0, 0, 0, 0, 0x15} {
		h.t.Errorf("discover header = %+v", d)
	}
	if prl, _ := d.Options.Get(OptParamRequest); !bytes.Contains(prl, []byte{OptNTP}) || !bytes.Contains(prl, []byte{OptDNS}) {
		h.t.Errorf("discover's parameter request list %v lacks DNS or NTP", prl)
	}
	if id, _ := d.Options.Get(OptClientID); string(id) != "\x01\x02\x00\x00\x00\x00\x15" {
		h.t.Errorf("client id = %x", id)
	}
	h.reply(d, Offer)
	r := h.expect(Request, inet.IPv4Broadcast)
	ip, _ := r.Options.Addr(OptRequestedIP)
	sid, _ := r.Options.Addr(OptServerID)
	if r.XID != d.XID || ip != leasedIP || sid != serverIP || !r.CIAddr.IsUnspecified() {
		h.t.Errorf("request = %+v", r)
	}
	h.reply(r, Ack)
	if h.c.State() != StateBound {
		h.t.Fatalf("state %v after ACK", h.c.State())
	}
	l, ok := h.c.Lease()
	if !ok {
		h.t.Fatal("no lease")
	}
	return l
}

func TestAcquire(t *testing.T) {
	h := newHarness(t)
	l := h.bind()
	want := Lease{Addr: inet.Prefix4{Addr: leasedIP, Bits: 24}, Router: serverIP, DNS: []inet.Addr4{inet.MustParseAddr4("10.0.2.3")},
		NTP: []inet.Addr4{inet.MustParseAddr4("10.0.2.4"), inet.MustParseAddr4("10.0.2.5")}, MTU: 1500, LeaseTime: time.Hour, T1: 30 * time.Minute, T2: 3150 * time.Second, Server: serverIP, Start: testStart}
	if !leaseEqual(l, want) {
		t.Errorf("lease = %+v\nwant    %+v", l, want)
	}
	if b, e := h.counts(); b != 1 || e != 0 || !leaseEqual(h.bound[0], want) {
		t.Errorf("OnBound %d times (%+v), OnExpire %d times", b, h.bound, e)
	}
}

func TestIgnoresForeignReplies(t *testing.T) {
	h := newHarness(t)
	h.c.Start()
	d := h.expect(Discover, inet.IPv4Broadcast)
	h.reply(d, Offer, func(m *Message) { m.XID++ })
	h.reply(d, Offer, func(m *Message) { m.CHAddr[5]++ })
	h.reply(d, Offer, func(m *Message) { m.Op = OpRequest })
	h.reply(d, Ack)
	h.c.Input([]byte("garbage"))
	if s := h.take(); len(s) != 0 || h.c.State() != StateSelecting {
		t.Fatalf("state %v, sent %s; want SELECTING and silence", h.c.State(), describe(s))
	}
}

func TestDiscoverBackoff(t *testing.T) {
	h := newHarness(t)
	h.c.Start()
	h.advance(6 * time.Minute)
	s := h.take()
	if len(s) < 8 {
		t.Fatalf("sent %s; want at least 8 DISCOVERs", describe(s))
	}
	for i := 1; i < len(s); i++ {
		gap := s[i].at.Sub(s[i-1].at)
		// RFC 2131 §4.1: 4 s, 8 s, ... up to 64 s, each ± 1 s.
		if w := min(4*time.Second<<(i-1), 64*time.Second); gap < w-time.Second || gap > w+time.Second {
			t.Errorf("retransmission %d after %v; want %v ± 1s", i, gap, w)
		}
		if s[i].m.Type() != Discover || s[i].m.XID != s[0].m.XID || s[i].dst != inet.IPv4Broadcast {
			t.Errorf("retransmission %d = %+v", i, s[i].m)
		}
		if got := time.Duration(s[i].m.Secs) * time.Second; got != s[i].at.Sub(testStart).Truncate(time.Second) {
			t.Errorf("secs = %v at %v", got, s[i].at.Sub(testStart))
		}
	}
}

func TestNakRestarts(t *testing.T) {
	h := newHarness(t)
	h.c.Start()
	d := h.expect(Discover, inet.IPv4Broadcast)
	h.reply(d, Offer)
	r := h.expect(Request, inet.IPv4Broadcast)
	h.reply(r, Nak)
	d2 := h.expect(Discover, inet.IPv4Broadcast)
	if d2.XID == d.XID || h.c.State() != StateSelecting {
		t.Errorf("after NAK: state %v, xid %x (old %x)", h.c.State(), d2.XID, d.XID)
	}
	if b, e := h.counts(); b != 0 || e != 0 {
		t.Errorf("callbacks: bound %d expire %d", b, e)
	}
}

func TestRequestUnansweredRestarts(t *testing.T) {
	h := newHarness(t)
	h.c.Start()
	d := h.expect(Discover, inet.IPv4Broadcast)
	h.reply(d, Offer)
	// Four REQUESTs at 0, ~4, ~12, ~28 s, then INIT at ~60 s (4+8+16+32,
	// each ± 1 s).
	h.advance(65 * time.Second)
	s := h.take()
	if len(s) < maxRequestTries+1 || s[maxRequestTries].m.Type() != Discover || s[maxRequestTries].m.XID == d.XID {
		t.Fatalf("sent %s; want %d REQUESTs then a new DISCOVER", describe(s), maxRequestTries)
	}
	for _, x := range s[:maxRequestTries] {
		if x.m.Type() != Request {
			t.Fatalf("sent %s", describe(s))
		}
	}
}

func TestRenewRebindExpire(t *testing.T) {
	h := newHarness(t)
	l := h.bind()
	h.advance(l.T1 - time.Millisecond)
	if s := h.take(); len(s) != 0 {
		t.Fatalf("sent %s before T1", describe(s))
	}
	h.advance(time.Millisecond)
	r := h.expect(Request, serverIP) // RENEWING: unicast (§4.4.5)
	if h.c.State() != StateRenewing || r.CIAddr != leasedIP || r.Flags != 0 {
		t.Fatalf("at T1: state %v, request %+v", h.c.State(), r)
	}
	if _, ok := r.Options.Get(OptRequestedIP); ok {
		t.Errorf("renewal carries option 50")
	}
	if _, ok := r.Options.Get(OptServerID); ok {
		t.Errorf("renewal carries option 54")
	}
	h.advance(l.T2 - l.T1 - time.Millisecond)
	s := h.take()
	if len(s) < 3 {
		t.Fatalf("renewal retransmissions: %s", describe(s))
	}
	for i, x := range s {
		if x.dst != serverIP || x.m.Type() != Request || x.m.XID != r.XID {
			t.Fatalf("renewal retransmission %d: %s", i, describe(s))
		}
		prev := testStart.Add(l.T1)
		if i > 0 {
			prev = s[i-1].at
		}
		// Half the time left until T2, at least 60 s (§4.4.5).
		if left := testStart.Add(l.T2).Sub(prev); x.at.Sub(prev) != min(max(left/2, time.Minute), left) {
			t.Errorf("retransmission %d after %v with %v left", i, x.at.Sub(prev), left)
		}
	}
	h.advance(time.Millisecond)
	r = h.expect(Request, inet.IPv4Broadcast) // REBINDING: broadcast
	if h.c.State() != StateRebinding || r.CIAddr != leasedIP {
		t.Fatalf("at T2: state %v, request %+v", h.c.State(), r)
	}
	if _, e := h.counts(); e != 0 {
		t.Fatalf("OnExpire before expiry")
	}
	h.advance(l.LeaseTime - l.T2 - time.Millisecond)
	for _, x := range h.take() {
		if x.dst != inet.IPv4Broadcast || x.m.Type() != Request {
			t.Fatalf("rebinding sent %+v to %v", x.m, x.dst)
		}
	}
	h.advance(time.Millisecond)
	d := h.expect(Discover, inet.IPv4Broadcast)
	if _, e := h.counts(); e != 1 || h.c.State() != StateSelecting {
		t.Fatalf("at expiry: OnExpire %d times, state %v", e, h.c.State())
	}
	if ip, _ := d.Options.Addr(OptRequestedIP); ip != leasedIP || !d.CIAddr.IsUnspecified() {
		t.Errorf("rediscover asks for %v (ciaddr %v); want the old address", ip, d.CIAddr)
	}
	if _, ok := h.c.Lease(); ok {
		t.Errorf("lease still held after expiry")
	}
}

func TestRenewAck(t *testing.T) {
	h := newHarness(t)
	l := h.bind()
	h.advance(l.T1)
	r := h.expect(Request, serverIP)
	h.advance(10 * time.Second)
	h.reply(r, Ack, func(m *Message) { m.Options.Add(OptLeaseTime, u32(7200)) })
	l2, ok := h.c.Lease()
	if !ok || h.c.State() != StateBound || l2.LeaseTime != 2*time.Hour || !l2.Start.Equal(testStart.Add(l.T1)) {
		t.Fatalf("after renewal: state %v lease %+v", h.c.State(), l2)
	}
	if b, _ := h.counts(); b != 2 {
		t.Errorf("OnBound called %d times, want 2", b)
	}
	// The next renewal is at the new T1, counted from the renewal request.
	h.advance(l2.T1 - 10*time.Second - time.Millisecond)
	if s := h.take(); len(s) != 0 {
		t.Fatalf("sent %s before the new T1", describe(s))
	}
	h.advance(time.Millisecond)
	h.expect(Request, serverIP)
}

func TestNakWhileRenewing(t *testing.T) {
	h := newHarness(t)
	l := h.bind()
	h.advance(l.T1)
	r := h.expect(Request, serverIP)
	h.reply(r, Nak)
	h.expect(Discover, inet.IPv4Broadcast)
	if _, e := h.counts(); e != 1 || h.c.State() != StateSelecting {
		t.Fatalf("after NAK: OnExpire %d, state %v", e, h.c.State())
	}
}

func TestReleaseOnStop(t *testing.T) {
	h := newHarness(t)
	l := h.bind()
	h.c.Stop()
	h.mu.Lock()
	s := h.out
	h.mu.Unlock()
	if len(s) != 1 || s[0].m.Type() != Release || s[0].dst != l.Server || s[0].m.CIAddr != leasedIP {
		t.Fatalf("sent %s; want one RELEASE to the server", describe(s))
	}
	if sid, _ := s[0].m.Options.Addr(OptServerID); sid != serverIP {
		t.Errorf("release server id %v", sid)
	}
	if _, e := h.counts(); e != 0 || h.c.State() != StateStopped {
		t.Errorf("OnExpire %d, state %v", e, h.c.State())
	}
	h.c.Stop() // idempotent
}

func TestDeclineThenRestartAfter10s(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.c.Decline("ARP conflict")
	d := h.expect(Decline, inet.IPv4Broadcast)
	ip, _ := d.Options.Addr(OptRequestedIP)
	sid, _ := d.Options.Addr(OptServerID)
	msg, _ := d.Options.Get(OptMessage)
	if ip != leasedIP || sid != serverIP || string(msg) != "ARP conflict" || !d.CIAddr.IsUnspecified() {
		t.Errorf("decline = %+v", d)
	}
	if _, e := h.counts(); e != 1 || h.c.State() != StateDeclined {
		t.Fatalf("OnExpire %d, state %v", e, h.c.State())
	}
	h.advance(10*time.Second - time.Millisecond)
	if s := h.take(); len(s) != 0 {
		t.Fatalf("sent %s within 10s of DECLINE", describe(s))
	}
	h.advance(time.Millisecond)
	if d := h.expect(Discover, inet.IPv4Broadcast); len(d.Options) == 0 {
		t.Fatal("empty discover")
	} else if _, ok := d.Options.Get(OptRequestedIP); ok {
		t.Errorf("the new DISCOVER asks for the declined address again")
	}
	// Declining without a lease does nothing.
	h.c.Decline("again")
	if s := h.take(); len(s) != 0 {
		t.Fatalf("sent %s", describe(s))
	}
}

// A board steps its clock forward by decades at its first NTP sync: told
// beforehand, the client keeps its lease and renews at T1 as if nothing
// had happened (without, the lease would be taken for long expired).
func TestClockStepped(t *testing.T) {
	const decades = 56 * 365 * 24 * time.Hour
	h := newHarness(t)
	l := h.bind()
	h.advance(l.T1 / 2)
	h.c.ClockStepped(decades)
	h.vc.Advance(decades) // the step: the client's timer fires early
	h.c.sync()
	if s := h.take(); len(s) != 0 || h.c.State() != StateBound {
		t.Fatalf("after the step: state %v, sent %s", h.c.State(), describe(s))
	}
	l2, ok := h.c.Lease()
	if !ok || !l2.Start.Equal(l.Start.Add(decades)) {
		t.Fatalf("lease after the step: %+v", l2)
	}
	h.advance(l.T1/2 - time.Millisecond)
	if s := h.take(); len(s) != 0 {
		t.Fatalf("sent %s before T1", describe(s))
	}
	h.advance(time.Millisecond)
	h.expect(Request, serverIP) // renewing at T1, unicast
	if b, e := h.counts(); b != 1 || e != 0 {
		t.Fatalf("OnBound %d, OnExpire %d", b, e)
	}
}
