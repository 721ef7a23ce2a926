package main

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/flow/happyeyeballs"
	"github.com/mirago/mirago/stack/tcp"
)

// upstream is one server of a pool. It outlives reloads that keep its
// pool and address, so its health, counters and open connections carry
// over.
type upstream struct {
	addr string // IP:PORT or NAME:PORT, as configured
	key  uint64 // hash of pool name and addr, for source hashing

	up     atomic.Bool  // health: takes new connections
	active atomic.Int64 // connections open or being opened

	// Counters, for metrics.
	conns, connectFails, bytesSent, bytesRecv atomic.Uint64
	conns6                                    atomic.Uint64 // connections made over IPv6 (a name may resolve to both)
	checks, checkFails                        atomic.Uint64
	connectTime                               histogram // connect latency of successful connects
	health                                    healthState
}

// pool is a named group of upstreams with a balancing policy. A reload
// makes a new pool (new settings, the same upstream objects for the
// addresses it keeps); connections opened before keep the old one.
type pool struct {
	cfg config.Pool
	ups []*member

	mu   sync.Mutex // balancer state: the members' rr, next
	next int        // leastconn's tie-break rotation

	// Counters, for metrics; the pool's bytes are its upstreams'.
	conns, refused atomic.Uint64
	conns6         atomic.Uint64 // connections to an upstream over IPv6
	active         atomic.Int64
}

// member is an upstream in one pool (one generation of it: a reload
// makes new members for the same upstreams): its weight and the
// balancer's state for it.
type member struct {
	*upstream
	weight int
	rr     int // smooth round-robin credit, under the pool's lock
}

// newPool builds a pool for cfg, reusing the upstreams of old (the pool
// of that name before a reload, or nil) that have the same address.
func newPool(cfg config.Pool, old *pool) *pool {
	p := &pool{cfg: cfg}
	if old != nil {
		p.conns.Store(old.conns.Load())
		p.conns6.Store(old.conns6.Load())
		p.refused.Store(old.refused.Load())
	}
	for _, uc := range cfg.Upstreams {
		var u *upstream
		if old != nil {
			for _, om := range old.ups {
				if om.addr == uc.Addr {
					u = om.upstream
				}
			}
		}
		if u == nil {
			u = &upstream{addr: uc.Addr, key: fnv([]byte(cfg.Name + "\x00" + uc.Addr))}
			u.up.Store(true) // as HAProxy: up until checks say otherwise
			u.connectTime.init(connectBuckets)
		}
		p.ups = append(p.ups, &member{upstream: u, weight: uc.Weight})
	}
	if old != nil {
		p.active.Store(old.active.Load())
	}
	return p
}

// healthy returns the number of upstreams taking connections.
func (p *pool) healthy() int {
	n := 0
	for _, u := range p.ups {
		if u.up.Load() {
			n++
		}
	}
	return n
}

// Errors of pool.dial.
var (
	// errNoUpstream: no upstream of the pool is healthy.
	errNoUpstream = errors.New("no healthy upstream")
)

// dialer opens connections to upstreams: our stack's TCP, to an
// IP:PORT at once, to a NAME:PORT by Happy Eyeballs (RFC 8305: AAAA and
// A looked up at once, the families raced 250 ms apart).
type dialer struct {
	tcp *tcp.Layer
	he  happyeyeballs.Config
}

// dial connects to hostport; it returns the address connected to.
func (d *dialer) dial(ctx context.Context, hostport string) (*tcp.Conn, netip.AddrPort, error) {
	host, port, err := happyeyeballs.SplitHostPort(hostport)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	return happyeyeballs.Dial(ctx, &d.he, host, port, d.tcp.Dial)
}

// dial connects a client to an upstream of p within the pool's connect
// timeout: it picks one by the pool's policy among the healthy ones, and
// on a failure tries the next healthy one not tried yet, each attempt
// getting an equal share of the time left. The upstream's active count
// includes the returned connection; release it with done. On failure the
// upstream returned is the last one tried (nil if none was).
func (p *pool) dial(ctx context.Context, d dialer, client netip.Addr) (*tcp.Conn, *upstream, int, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout)
	defer cancel()
	var tried uint64 // bit i: ups[i] tried (a pool has at most 64 upstreams)
	attempts := 0
	var last error
	var lastUp *upstream
	for {
		p.mu.Lock()
		eligible := func(i int) bool { return tried&(1<<i) == 0 && p.ups[i].up.Load() }
		i := p.pickLocked(client, eligible)
		left := 0
		for j := range p.ups {
			if eligible(j) {
				left++
			}
		}
		p.mu.Unlock()
		if i < 0 {
			if attempts == 0 {
				return nil, nil, 0, errNoUpstream
			}
			return nil, lastUp, attempts, last
		}
		u := p.ups[i].upstream
		lastUp = u
		tried |= 1 << i
		attempts++
		share := time.Duration(0) // the whole time left: the last candidate
		if left > 1 {
			deadline, _ := ctx.Deadline()
			share = time.Until(deadline) / time.Duration(left)
		}
		c, err := u.connect(ctx, d, share)
		if err == nil {
			return c, u, attempts, nil
		}
		last = err
		if ctx.Err() != nil {
			return nil, u, attempts, err
		}
	}
}

// connect makes one attempt at u within share (0: ctx's own deadline,
// without a timer of its own); on success u.active counts the connection.
func (u *upstream) connect(ctx context.Context, d dialer, share time.Duration) (*tcp.Conn, error) {
	u.active.Add(1)
	actx := ctx
	if share > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, share)
		defer cancel()
	}
	start := time.Now()
	c, addr, err := d.dial(actx, u.addr)
	if err != nil {
		u.active.Add(-1)
		u.connectFails.Add(1)
		if ctx.Err() == nil && actx.Err() != nil {
			err = errAttemptTimeout
		}
		return nil, err
	}
	u.connectTime.observe(time.Since(start).Seconds())
	u.conns.Add(1)
	if !addr.Addr().Is4() {
		u.conns6.Add(1)
	}
	return c, nil
}

// errAttemptTimeout: one attempt ran out of its share of the connect
// timeout (the next upstream gets the rest).
var errAttemptTimeout = errors.New("connect attempt timed out")

// done releases a connection counted by dial.
func (u *upstream) done() { u.active.Add(-1) }
