package happyeyeballs

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
)

// fakeConn is a connection of the fake dialer.
type fakeConn struct {
	addr   netip.AddrPort
	closed atomic.Bool
}

func (c *fakeConn) Close() error { c.closed.Store(true); return nil }

// call is one dial the driver made: the test answers it on result, or
// sees its context end.
type call struct {
	addr   netip.AddrPort
	ctx    context.Context
	result chan error
}

// fakes are a resolver whose answers the test releases and a dialer
// whose calls it answers.
type fakes struct {
	aaaa, a chan []netip.Addr
	calls   chan call
	asked   atomic.Int32
}

func newFakes() *fakes {
	return &fakes{aaaa: make(chan []netip.Addr, 1), a: make(chan []netip.Addr, 1), calls: make(chan call, 8)}
}

func (f *fakes) LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error) {
	f.asked.Add(1)
	select {
	case a := <-f.aaaa:
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *fakes) LookupA(ctx context.Context, name string) ([]netip.Addr, error) {
	f.asked.Add(1)
	select {
	case a := <-f.a:
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *fakes) dial(ctx context.Context, ap netip.AddrPort) (*fakeConn, error) {
	c := call{addr: ap, ctx: ctx, result: make(chan error, 1)}
	f.calls <- c
	select {
	case err := <-c.result:
		if err != nil {
			return nil, err
		}
		return &fakeConn{addr: ap}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *fakes) nextCall(t *testing.T) call {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no dial")
	}
	return call{}
}

// waitTimer waits until the driver has armed its timer for at
// (the state it blocks in), for up to 5 s of real time.
func waitTimer(t *testing.T, clk *clock.Virtual, at time.Time) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if d, ok := clk.NextDeadline(); ok && d.Equal(at) {
			return
		}
		if time.Now().After(deadline) {
			d, ok := clk.NextDeadline()
			t.Fatalf("no timer at %v (next: %v %v)", at, d, ok)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

type dialResult struct {
	c   *fakeConn
	ap  netip.AddrPort
	err error
}

func start(ctx context.Context, cfg *Config, f *fakes, host string) chan dialResult {
	res := make(chan dialResult, 1)
	go func() {
		c, ap, err := Dial(ctx, cfg, host, 443, f.dial)
		res <- dialResult{c, ap, err}
	}()
	return res
}

var (
	t0  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a6  = netip.MustParseAddr("2001:db8::1")
	a4  = netip.MustParseAddr("192.0.2.1")
	ap6 = netip.AddrPortFrom(a6, 443)
	ap4 = netip.AddrPortFrom(a4, 443)
)

// IPv6 first; it hangs, so IPv4 goes 250 ms (virtual) later and wins,
// and the IPv6 attempt is cancelled.
func TestDialFallsBackAfterAttemptDelay(t *testing.T) {
	clk := clock.NewVirtual(t0)
	f := newFakes()
	res := start(context.Background(), &Config{Resolver: f, Clock: clk}, f, "svc.test")
	f.aaaa <- []netip.Addr{a6}
	c6 := f.nextCall(t)
	if c6.addr != ap6 {
		t.Fatalf("first attempt to %v, want %v", c6.addr, ap6)
	}
	f.a <- []netip.Addr{a4}
	waitTimer(t, clk, t0.Add(DefaultAttemptDelay))
	select {
	case c := <-f.calls:
		t.Fatalf("attempt to %v before the attempt delay", c.addr)
	default:
	}
	clk.Advance(DefaultAttemptDelay)
	c4 := f.nextCall(t)
	if c4.addr != ap4 {
		t.Fatalf("second attempt to %v", c4.addr)
	}
	c4.result <- nil
	r := <-res
	if r.err != nil || r.ap != ap4 || r.c.addr != ap4 {
		t.Fatalf("Dial = %v %v %v", r.c, r.ap, r.err)
	}
	select {
	case <-c6.ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the losing IPv6 attempt was not cancelled")
	}
}

// A positive A answer first waits the resolution delay (50 ms) for the
// AAAA one, then connects over IPv4.
func TestDialResolutionDelay(t *testing.T) {
	clk := clock.NewVirtual(t0)
	f := newFakes()
	res := start(context.Background(), &Config{Resolver: f, Clock: clk}, f, "svc.test")
	f.a <- []netip.Addr{a4}
	waitTimer(t, clk, t0.Add(DefaultResolutionDelay))
	clk.Advance(DefaultResolutionDelay)
	c4 := f.nextCall(t)
	if c4.addr != ap4 {
		t.Fatalf("attempt to %v", c4.addr)
	}
	// The AAAA answer comes late: its address is next, 250 ms after.
	f.aaaa <- []netip.Addr{a6}
	waitTimer(t, clk, t0.Add(DefaultResolutionDelay+DefaultAttemptDelay))
	clk.Advance(DefaultAttemptDelay)
	c6 := f.nextCall(t)
	if c6.addr != ap6 {
		t.Fatalf("attempt to %v", c6.addr)
	}
	c6.result <- nil
	r := <-res
	if r.err != nil || r.ap != ap6 {
		t.Fatalf("Dial = %v %v", r.ap, r.err)
	}
	select {
	case <-c4.ctx.Done(): // the IPv4 attempt, still going, is cancelled
	case <-time.After(5 * time.Second):
		t.Fatal("the losing IPv4 attempt was not cancelled")
	}
}

// A refused attempt starts the next at once, and when all fail the
// error is the first attempt's.
func TestDialAllFail(t *testing.T) {
	clk := clock.NewVirtual(t0)
	f := newFakes()
	res := start(context.Background(), &Config{Resolver: f, Clock: clk}, f, "svc.test")
	f.aaaa <- []netip.Addr{a6}
	f.a <- []netip.Addr{a4}
	refused := errors.New("refused")
	f.nextCall(t).result <- refused
	f.nextCall(t).result <- errors.New("unreachable")
	r := <-res
	var e *Error
	if !errors.As(r.err, &e) || !errors.Is(r.err, refused) || e.Attempts != 2 || e.Host != "svc.test" {
		t.Fatalf("Dial error %v", r.err)
	}
	if clk.Now() != t0 {
		t.Fatalf("virtual time moved to %v: no attempt should have waited", clk.Now())
	}
}

// Cancelling the context ends Dial; a connection made afterwards is
// closed.
func TestDialCancelled(t *testing.T) {
	clk := clock.NewVirtual(t0)
	f := newFakes()
	ctx, cancel := context.WithCancel(context.Background())
	// A dial that ignores its context and connects after Dial returned.
	late := make(chan *fakeConn, 1)
	sticky := func(ctx context.Context, ap netip.AddrPort) (*fakeConn, error) {
		c := call{addr: ap, ctx: ctx, result: make(chan error, 1)}
		f.calls <- c
		<-c.result
		fc := &fakeConn{addr: ap}
		late <- fc
		return fc, nil
	}
	res := make(chan error, 1)
	go func() {
		_, _, err := Dial(ctx, &Config{Resolver: f, Clock: clk}, "svc.test", 443, sticky)
		res <- err
	}()
	f.aaaa <- []netip.Addr{a6}
	c := f.nextCall(t)
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial = %v", err)
	}
	c.result <- nil
	fc := <-late
	deadline := time.Now().Add(5 * time.Second)
	for !fc.closed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the connection made after Dial gave up was not closed")
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// Families limits the queries; an IP literal is dialled at once.
func TestDialFamiliesAndLiterals(t *testing.T) {
	clk := clock.NewVirtual(t0)
	f := newFakes()
	cfg := &Config{Resolver: f, Clock: clk, Families: func() (bool, bool) { return true, false }}
	res := start(context.Background(), cfg, f, "svc.test")
	f.a <- []netip.Addr{a4}
	c := f.nextCall(t) // no resolution delay: AAAA was not asked
	c.result <- nil
	if r := <-res; r.err != nil || r.ap != ap4 {
		t.Fatalf("Dial = %v %v", r.ap, r.err)
	}
	if n := f.asked.Load(); n != 1 {
		t.Fatalf("%d queries, want 1 (A only)", n)
	}
	res = start(context.Background(), &Config{Clock: clk}, f, "2001:db8::1")
	f.nextCall(t).result <- nil
	if r := <-res; r.err != nil || r.ap != ap6 {
		t.Fatalf("literal: %v %v", r.ap, r.err)
	}
	if _, _, err := Dial(context.Background(), &Config{}, "svc.test", 1, f.dial); !errors.Is(err, ErrNoResolver) {
		t.Fatalf("a name without a resolver: %v", err)
	}
}

func TestSplitHostPort(t *testing.T) {
	for in, want := range map[string]string{"svc.test:80": "svc.test 80", "[2001:db8::1]:443": "2001:db8::1 443", "10.0.0.1:7": "10.0.0.1 7"} {
		h, p, err := SplitHostPort(in)
		if err != nil || h+" "+itoa(p) != want {
			t.Errorf("SplitHostPort(%q) = %q %d %v", in, h, p, err)
		}
	}
	for _, bad := range []string{"svc.test", "svc.test:x", ":80", "svc.test:70000"} {
		if _, _, err := SplitHostPort(bad); err == nil {
			t.Errorf("SplitHostPort(%q) accepted", bad)
		}
	}
}

func itoa(p uint16) string { return netip.AddrPortFrom(netip.IPv4Unspecified(), p).String()[8:] }
