package main

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirago/mirago/flow/happyeyeballs"
	"github.com/mirago/mirago/internal/testkit/stacktest"
)

// nameResolver answers AAAA and A lookups of one name.
type nameResolver struct {
	name    string
	v6, v4  []netip.Addr
	lookups atomic.Int32
}

func (r *nameResolver) LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error) {
	return r.answer(name, r.v6)
}

func (r *nameResolver) LookupA(ctx context.Context, name string) ([]netip.Addr, error) {
	return r.answer(name, r.v4)
}

func (r *nameResolver) answer(name string, a []netip.Addr) ([]netip.Addr, error) {
	r.lookups.Add(1)
	if name != r.name {
		return nil, errors.New("no such name")
	}
	return a, nil
}

// The proxy's dialer: a literal is dialled as is; a name goes by Happy
// Eyeballs, over IPv6 when the upstream listens there, over IPv4 a
// Connection Attempt Delay later when its IPv6 address does not answer.
func TestDialerHappyEyeballs(t *testing.T) {
	a, b := stacktest.Pair(t)
	stacktest.Address6(t, a)
	_, bG := stacktest.Address6(t, b)
	ln, err := b.TCP().Listen(80)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	v4 := netip.MustParseAddr("10.0.0.2")
	r := &nameResolver{name: "up.test", v6: []netip.Addr{bG.Netip()}, v4: []netip.Addr{v4}}
	d := dialer{tcp: a.TCP(), he: happyeyeballs.Config{Resolver: r}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, got, err := d.dial(ctx, "up.test:80")
	if err != nil || got != netip.AddrPortFrom(bG.Netip(), 80) {
		t.Fatalf("dial by name = %v, %v; want IPv6 first", got, err)
	}
	c.Abort()
	if n := r.lookups.Load(); n != 2 {
		t.Fatalf("%d lookups, want AAAA and A", n)
	}

	// The IPv6 address is nobody's: its SYNs go nowhere, and IPv4 is
	// tried 250 ms after and wins.
	r.v6 = []netip.Addr{netip.MustParseAddr("fd00:6::dead")}
	start := time.Now()
	c, got, err = d.dial(ctx, "up.test:80")
	if err != nil || got != netip.AddrPortFrom(v4, 80) {
		t.Fatalf("dial with a dead IPv6 address = %v, %v; want IPv4", got, err)
	}
	c.Abort()
	if el := time.Since(start); el < happyeyeballs.DefaultAttemptDelay {
		t.Fatalf("IPv4 connected %v after the start, before the attempt delay", el)
	}

	// Only IPv4 reachable: AAAA is not asked.
	d.he.Families = func() (bool, bool) { return true, false }
	r.lookups.Store(0)
	if c, got, err = d.dial(ctx, "up.test:80"); err != nil || !got.Addr().Is4() || r.lookups.Load() != 1 {
		t.Fatalf("IPv4 only: %v, %v, %d lookups", got, err, r.lookups.Load())
	}
	c.Abort()

	// Literals of both families, no resolver needed.
	lit := dialer{tcp: a.TCP()}
	for _, hp := range []string{"10.0.0.2:80", "[" + bG.String() + "]:80"} {
		c, got, err := lit.dial(ctx, hp)
		if err != nil || got.String() != hp {
			t.Fatalf("literal %s: %v, %v", hp, got, err)
		}
		c.Abort()
	}
	if _, _, err := lit.dial(ctx, "up.test:80"); !errors.Is(err, happyeyeballs.ErrNoResolver) {
		t.Fatalf("a name without a resolver: %v", err)
	}
}
