// Command proxy is the TCP proxy appliance: it accepts connections on one
// port of our stack and joins each to a connection it opens to the
// upstream, with access control, connection limits, timeouts and
// half-close carried both ways (flow.Proxy).
//
// The logic (this file and its siblings without build tags) takes a
// *stack.Stack and a Config, so the host main (main.go) and a bare-metal
// main share it.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/internal/buildcfg"
	"github.com/mirago/mirago/logging"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// Config configures the proxy.
type Config struct {
	// Listen is the TCP port we accept clients on.
	Listen uint16
	// Upstream is HOST:PORT; a name needs Resolve or upstreamResolver.
	Upstream string
	// Allow lists the client networks allowed; empty means our own subnet.
	Allow []netip.Prefix
	// MaxConns bounds the connections proxied at once (0: no limit).
	MaxConns int
	// MaxPerClient bounds the connections per client address (0: no limit).
	MaxPerClient int
	// ConnectTimeout bounds resolving and connecting to the upstream.
	ConnectTimeout time.Duration
	// IdleTimeout closes a connection with no byte moved either way for
	// that long (0: never).
	IdleTimeout time.Duration
	// Grace is how long open connections may go on after shutdown starts.
	Grace time.Duration
	// Metrics, if not 0, is the TCP port of the Prometheus endpoint.
	Metrics uint16
	// Resolve overrides upstreamResolver for this proxy.
	Resolve func(ctx context.Context, hostport string) (netip.AddrPort, error)
	// Log receives the log lines (*slog.Logger on a host, a
	// logging.Console on a board); nil drops them.
	Log logging.Logger
}

// Defaults for Config fields left zero by DefaultConfig users.
const (
	DefaultMaxConns       = 256
	DefaultMaxPerClient   = 32
	DefaultConnectTimeout = 10 * time.Second
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultGrace          = 5 * time.Second
)

// Validate checks c before it is used.
func (c *Config) Validate() error {
	if c.Listen == 0 {
		return errors.New("bad -listen: want a port 1-65535")
	}
	resolve := c.Resolve
	if resolve == nil {
		resolve = upstreamResolver
	}
	if err := checkUpstream(c.Upstream, resolve); err != nil {
		return err
	}
	if c.MaxConns < 0 {
		return fmt.Errorf("bad -max-conns %d: want 0 (no limit) or more", c.MaxConns)
	}
	if c.MaxPerClient < 0 {
		return fmt.Errorf("bad -max-per-client %d: want 0 (no limit) or more", c.MaxPerClient)
	}
	if c.ConnectTimeout <= 0 {
		return fmt.Errorf("bad -connect-timeout %v: want a positive duration", c.ConnectTimeout)
	}
	if c.IdleTimeout < 0 {
		return fmt.Errorf("bad -idle-timeout %v: want 0 (none) or a positive duration", c.IdleTimeout)
	}
	if c.Grace < 0 {
		return fmt.Errorf("bad -grace %v: want 0 or a positive duration", c.Grace)
	}
	if c.Metrics != 0 && !metricsBuilt {
		return buildcfg.ErrNoMetrics
	}
	if c.Metrics != 0 && c.Metrics == c.Listen {
		return fmt.Errorf("bad -metrics %d: same port as -listen", c.Metrics)
	}
	return nil
}

// Stats are the proxy's own counters.
type Stats struct {
	Accepted       uint64 // clients accepted and proxied
	RefusedACL     uint64 // connection attempts refused at SYN time (RST): source not allowed
	RefusedLimit   uint64 // clients reset after the handshake: -max-conns or -max-per-client
	UpstreamErrors uint64 // upstream could not be resolved or reached
	IdleTimeouts   uint64 // connections closed by -idle-timeout
	Resets         uint64 // connections ended by a reset from either side
	BytesUp        uint64 // bytes written to the upstream
	BytesDown      uint64 // bytes written to clients
	Active         int64  // connections open now
}

// Proxy is a running proxy.
type Proxy struct {
	cfg     Config
	s       *stack.Stack
	log     logging.Logger
	resolve func(context.Context, string) (netip.AddrPort, error)
	lim     *limiter
	refused *refusalLog
	ln, mln *tcp.Listener

	accepted, refusedACL, refusedLimit, upstreamErrors atomic.Uint64
	idleTimeouts, resets, bytesUp, bytesDown           atomic.Uint64
	active                                             atomic.Int64
}

// New checks cfg and returns a proxy on s; Serve runs it.
func New(s *stack.Stack, cfg Config) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, s: s, log: cfg.Log, resolve: cfg.Resolve, lim: newLimiter(cfg.MaxConns, cfg.MaxPerClient),
		refused: newRefusalLog()}
	p.log = logging.OrDiscard(p.log)
	if p.resolve == nil {
		p.resolve = upstreamResolver
	}
	return p, nil
}

// Stats returns a snapshot of the proxy's counters.
func (p *Proxy) Stats() Stats {
	return Stats{
		Accepted: p.accepted.Load(), RefusedACL: p.refusedACL.Load(), RefusedLimit: p.refusedLimit.Load(),
		UpstreamErrors: p.upstreamErrors.Load(), IdleTimeouts: p.idleTimeouts.Load(), Resets: p.resets.Load(),
		BytesUp: p.bytesUp.Load(), BytesDown: p.bytesDown.Load(), Active: p.active.Load(),
	}
}

// Run serves the proxy, and the metrics endpoint if cfg.Metrics is set,
// on s until ctx ends; then it stops accepting, lets open connections go
// on for cfg.Grace, closes what is left and returns. It returns an error
// only if cfg is bad or a port cannot be listened on.
func Run(ctx context.Context, s *stack.Stack, cfg Config) error {
	p, err := New(s, cfg)
	if err != nil {
		return err
	}
	if err := p.Start(); err != nil {
		return err
	}
	p.Serve(ctx)
	return nil
}

// Start listens on the proxy port and the metrics port; clients that
// connect from then on wait in the accept queue until Serve. The ACL is
// the listener's accept filter (admit): a client it refuses gets a RST in
// answer to its SYN, so its connect fails with "connection refused" and
// no connection is ever made.
func (p *Proxy) Start() error {
	ln, err := p.s.TCP.Listen(p.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on port %d: %w", p.cfg.Listen, err)
	}
	// SetFilter also resets any client that got in between Listen and
	// here, so every accepted connection has passed the ACL.
	ln.SetFilter(p.admit)
	if p.cfg.Metrics != 0 {
		if p.mln, err = p.s.TCP.Listen(p.cfg.Metrics); err != nil {
			ln.Close()
			return fmt.Errorf("metrics port %d: %w", p.cfg.Metrics, err)
		}
	}
	p.ln = ln
	return nil
}

// Serve accepts clients until ctx ends, then stops accepting, lets open
// connections go on for the grace period, closes what is left and
// returns. The metrics endpoint is served until Serve returns. Start must
// have succeeded.
func (p *Proxy) Serve(ctx context.Context) {
	log, ln := p.log, p.ln
	if p.mln != nil {
		defer p.serveMetrics()()
	}
	stopRefusals := make(chan struct{})
	var refusalsDone sync.WaitGroup
	refusalsDone.Go(func() { p.refused.run(log, stopRefusals) })
	defer func() { close(stopRefusals); refusalsDone.Wait() }()
	log.Info("proxy serving", "listen", p.cfg.Listen, "upstream", p.cfg.Upstream, "allow", p.allowString(),
		"max_conns", p.cfg.MaxConns, "max_per_client", p.cfg.MaxPerClient,
		"connect_timeout", p.cfg.ConnectTimeout, "idle_timeout", p.cfg.IdleTimeout)
	// Flows outlive ctx by the grace period: they have their own context,
	// cancelled when the grace period ends.
	flowCtx, cancelFlows := context.WithCancel(context.Background())
	defer cancelFlows()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	for {
		c, err := ln.AcceptContext(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			log.Warn("proxy accept", "err", err)
			continue
		}
		client := addrPort(c.RemoteAddr())
		if ok, limit := p.lim.acquire(client.Addr()); !ok {
			p.refusedLimit.Add(1)
			c.Abort()
			p.refused.note(client, limit)
			continue
		}
		p.accepted.Add(1)
		p.active.Add(1)
		wg.Go(func() {
			defer p.active.Add(-1)
			defer p.lim.release(client.Addr())
			p.handle(flowCtx, c, client)
		})
	}
	ln.Close()
	open, _ := p.lim.open()
	log.Info("proxy stopped accepting", "open", open, "grace", p.cfg.Grace)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(p.cfg.Grace):
		open, _ := p.lim.open()
		log.Info("proxy grace period over: closing", "open", open)
		cancelFlows()
		<-finished
	}
}

// handle proxies one accepted client to the upstream and logs the result.
func (p *Proxy) handle(ctx context.Context, c *tcp.Conn, client netip.AddrPort) {
	start := time.Now()
	var upstream netip.AddrPort
	var res flow.Result
	outcome, err := "ok", error(nil)
	defer func() {
		attrs := []any{"client", client, "upstream", p.cfg.Upstream, "bytes_up", res.AToB, "bytes_down", res.BToA,
			"duration", time.Since(start).Round(time.Millisecond), "outcome", outcome}
		if upstream.IsValid() && upstream.String() != p.cfg.Upstream {
			attrs = append(attrs, "upstream_addr", upstream)
		}
		if err != nil {
			attrs = append(attrs, "err", err)
		}
		p.log.Info("proxy conn closed", attrs...)
	}()

	up, upstream, err := p.dial(ctx)
	if err != nil {
		p.upstreamErrors.Add(1)
		outcome = dialOutcome(err)
		// The client sees a FIN at once (a RST if it had sent data
		// we could not deliver).
		c.Close()
		return
	}
	cs := &side{Conn: c, written: &p.bytesDown}
	us := &side{Conn: up, written: &p.bytesUp}
	// flow.Proxy passes a reset met on either side, by any call, on to
	// the other side as a reset, and says which side it was.
	res, err = flow.Proxy(ctx, cs, us, flow.Options{IdleTimeout: p.cfg.IdleTimeout})
	switch {
	case err == nil:
	case errors.Is(err, flow.ErrIdleTimeout):
		outcome = "idle-timeout"
		p.idleTimeouts.Add(1)
	case res.AReset:
		outcome = "client-reset"
		p.resets.Add(1)
	case res.BReset:
		outcome = "upstream-reset"
		p.resets.Add(1)
	case ctx.Err() != nil:
		outcome = "shutdown"
	default:
		outcome = "error"
	}
}

// dial resolves and connects to the upstream within the connect timeout.
func (p *Proxy) dial(ctx context.Context) (*tcp.Conn, netip.AddrPort, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout)
	defer cancel()
	addr, err := resolveUpstream(ctx, p.cfg.Upstream, p.resolve)
	if err != nil {
		return nil, addr, err
	}
	c, err := p.s.TCP.Dial(ctx, addr)
	return c, addr, err
}

// dialOutcome names why the upstream could not be reached.
func dialOutcome(err error) string {
	switch {
	case errors.Is(err, tcp.ErrRefused):
		return "upstream-refused"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, tcp.ErrTimeout):
		return "connect-timeout"
	case errors.Is(err, tcp.ErrUnreachable):
		return "upstream-unreachable"
	case errors.Is(err, context.Canceled):
		return "shutdown"
	}
	return "upstream-error"
}

// side is one end of a proxied connection: it counts the bytes written
// to it as they go, for the metrics. Abort, CloseWrite and the rest are
// the *tcp.Conn's.
type side struct {
	*tcp.Conn
	written *atomic.Uint64 // bytes written to this side
}

// Write implements net.Conn.Write.
func (s *side) Write(b []byte) (int, error) {
	n, err := s.Conn.Write(b)
	s.written.Add(uint64(n))
	return n, err
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

func (p *Proxy) allowString() string {
	if len(p.cfg.Allow) == 0 {
		return "own-subnet"
	}
	return fmt.Sprint(p.cfg.Allow)
}

// admit is the listener's accept filter: the ACL, checked when a SYN
// arrives. It runs with the stack lock held (tcp.Listener.SetFilter), so
// it reads our address from the IP layer directly (stack.Stack.Addr would
// take the lock again), and it only counts and queues the refusal: the log
// line is written later, off the lock and rate-limited (refusalLog).
func (p *Proxy) admit(client netip.AddrPort) bool {
	a := p.s.IP.Addr()
	own := netip.PrefixFrom(a.Addr.Netip(), a.Bits).Masked()
	if allowed(p.cfg.Allow, own, client.Addr()) {
		return true
	}
	p.refusedACL.Add(1)
	p.refused.note(client, "acl")
	return false
}
