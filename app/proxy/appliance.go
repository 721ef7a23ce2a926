package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/flow/happyeyeballs"
	"github.com/mirago/mirago/logging"
	"github.com/mirago/mirago/stack"
)

// Options are what a main gives the appliance besides its configuration.
type Options struct {
	// Log receives the log lines (*slog.Logger on a host, a
	// logging.Console on a board); nil drops them.
	Log logging.Logger
	// Resolver looks up NAME:PORT upstreams (per connection and per
	// health check), which are then connected to by Happy Eyeballs (RFC
	// 8305, flow/happyeyeballs); nil means IP:PORT upstreams only.
	Resolver happyeyeballs.Resolver
	// Families reports which address families the stack can reach
	// (stack.Stack.Reachable): a name's addresses of the others are not
	// asked for. nil: both.
	Families func() (v4, v6 bool)
	// Now is the wall clock of TLS (certificate validity, session
	// tickets); nil means time.Now, the process clock, which an SNTP
	// client is to set on a board. Logs use the process clock too.
	Now func() time.Time
}

// Appliance is the running proxy: listeners, pools, health checks and
// the metrics endpoint, on one stack. Reload replaces its configuration
// while it serves.
type Appliance struct {
	s        *stack.Stack
	log      logging.Logger
	dialer   dialer
	refusals *refusalLog
	now      func() time.Time

	mu        sync.Mutex // Start, Reload, Serve's shutdown
	file      *config.File
	listeners map[uint16]*listener // by port: a port is a listener's identity across reloads
	all       []*listener          // every listener ever, for Stats
	pools     map[string]*pool
	checkers  []*checker
	metrics   *metricsEndpoint
	serving   bool
	closing   bool           // Serve is shutting down: no more reloads
	draining  sync.WaitGroup // listeners removed by reloads, until their grace ends

	upstreamErrors, bytesUp, bytesDown atomic.Uint64
}

// New checks f and returns an appliance for it on s; Start opens its
// ports.
func New(s *stack.Stack, f *config.File, o Options) (*Appliance, error) {
	a := &Appliance{s: s, log: logging.OrDiscard(o.Log), refusals: newRefusalLog(), now: o.Now,
		dialer: dialer{tcp: s.TCP(), he: happyeyeballs.Config{Resolver: o.Resolver, Families: o.Families}}, listeners: map[uint16]*listener{}, pools: map[string]*pool{}}
	if a.now == nil {
		a.now = time.Now
	}
	if err := f.Validate(a.validateOptions()).Err(); err != nil {
		return nil, err
	}
	a.file = f
	return a, nil
}

func (a *Appliance) validateOptions() config.Options {
	return config.Options{Names: a.dialer.he.Resolver != nil, Metrics: metricsBuilt, TLS: tlsBuilt}
}

// Start opens every port of the configuration and starts the health
// checks; clients that connect wait in the accept queues until Serve.
func (a *Appliance) Start() error {
	a.mu.Lock()
	old, err := a.apply(a.file)
	a.mu.Unlock()
	stopMetrics(old)
	return err
}

// Reload replaces the configuration while serving: listeners on new ports
// open, those whose port is gone stop accepting and their connections
// have the grace period to finish, kept ones take the new settings for
// new connections, and pools are rebuilt keeping the health and counters
// of the upstreams they keep. Nothing established on a kept listener is
// cut. If f is bad or a new port cannot be opened, nothing changes and
// the error says why.
func (a *Appliance) Reload(f *config.File) error {
	if err := f.Validate(a.validateOptions()).Err(); err != nil {
		return err
	}
	a.mu.Lock()
	if a.closing {
		a.mu.Unlock()
		return errors.New("shutting down")
	}
	old, err := a.apply(f)
	if err == nil {
		a.file = f
	}
	a.mu.Unlock()
	stopMetrics(old)
	if err != nil {
		return err
	}
	a.log.Info("proxy reloaded", "listeners", len(f.Listeners), "pools", len(f.Pools))
	return nil
}

// apply makes f the running configuration (a.mu held). Everything that
// can fail is done before anything running changes. It returns the
// metrics endpoint replaced, to stop once a.mu is released.
func (a *Appliance) apply(f *config.File) (*metricsEndpoint, error) {
	pools := map[string]*pool{}
	for _, pc := range f.Pools {
		pools[pc.Name] = newPool(pc, a.pools[pc.Name])
	}
	sets := map[uint16]*listenerSet{}
	for _, lc := range f.Listeners {
		set := &listenerSet{cfg: lc, pool: pools[lc.Pool]}
		if len(lc.SNI) > 0 {
			set.router = newRouter(lc.SNI, pools, set.pool)
		}
		if lc.TLS != nil {
			t, err := newTLSTerm(lc.TLS, a.now)
			if err != nil {
				return nil, fmt.Errorf("listener %s: tls: %w", lc.Name, err)
			}
			set.tls = t
		}
		sets[lc.Port] = set
	}
	var opened []*listener
	fail := func(err error) (*metricsEndpoint, error) {
		for _, l := range opened {
			l.ln.Close()
		}
		return nil, err
	}
	for _, lc := range f.Listeners {
		if a.listeners[lc.Port] != nil {
			continue
		}
		l, err := a.openListener(sets[lc.Port])
		if err != nil {
			return fail(err)
		}
		opened = append(opened, l)
	}
	mep, err := a.reloadMetrics(f.Metrics)
	if err != nil {
		return fail(err)
	}

	// Commit.
	for _, c := range a.checkers {
		c.stop()
	}
	a.checkers = a.checkers[:0]
	for _, pc := range f.Pools {
		a.checkers = append(a.checkers, pools[pc.Name].startChecks(a.dialer, a.log))
	}
	a.pools = pools
	for port, l := range a.listeners {
		set, kept := sets[port]
		if !kept {
			delete(a.listeners, port)
			a.retire(l, f.Grace)
			continue
		}
		l.lim.setLimits(set.cfg.MaxConns, set.cfg.MaxPerClient)
		l.set.Store(set)
		// SetFilter again: clients already queued must pass the
		// new ACL too.
		l.ln.SetFilter(l.admit)
	}
	for _, l := range opened {
		a.listeners[l.port] = l
		a.all = append(a.all, l)
		if a.serving {
			l.startServing()
		}
	}
	return a.swapMetrics(mep), nil
}

// openListener listens on the port of set.
func (a *Appliance) openListener(set *listenerSet) (*listener, error) {
	ln, err := a.s.TCP().Listen(set.cfg.Port)
	if err != nil {
		return nil, fmt.Errorf("listener %s: port %d: %w", set.cfg.Name, set.cfg.Port, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{a: a, port: set.cfg.Port, ln: ln, lim: newLimiter(set.cfg.MaxConns, set.cfg.MaxPerClient),
		ctx: ctx, cancel: cancel}
	l.set.Store(set)
	// SetFilter also resets clients that got in between Listen and
	// here, so every accepted connection has passed the filter.
	ln.SetFilter(l.admit)
	return l, nil
}

func (l *listener) startServing() {
	l.loop.Go(l.serve)
}

// retire stops l accepting and gives its connections grace to finish
// (a.mu held).
func (a *Appliance) retire(l *listener, grace time.Duration) {
	l.close()
	open, _ := l.lim.open()
	a.log.Info("proxy listener removed", "listener", l.set.Load().cfg.Name, "port", l.port, "open", open, "grace", grace)
	a.draining.Go(func() { l.drain(grace, a.log) })
}

// drain waits for l's connections for up to grace, then cuts the rest.
func (l *listener) drain(grace time.Duration, log logging.Logger) {
	finished := make(chan struct{})
	go func() { l.conns.Wait(); close(finished) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-finished:
	case <-t.C:
		open, _ := l.lim.open()
		log.Info("proxy grace period over: closing", "listener", l.set.Load().cfg.Name, "open", open)
		l.cancel()
		<-finished
	}
	l.cancel()
}

// Serve accepts clients on every listener until ctx ends, then stops
// accepting, lets open connections go on for the grace period, closes
// what is left and returns. Start must have succeeded.
func (a *Appliance) Serve(ctx context.Context) {
	stopRefusals := make(chan struct{})
	var refusalsDone sync.WaitGroup
	refusalsDone.Go(func() { a.refusals.run(a.log, stopRefusals) })
	defer func() { close(stopRefusals); refusalsDone.Wait() }()

	a.mu.Lock()
	a.serving = true
	for _, l := range a.listeners {
		l.startServing()
		set := l.set.Load()
		a.log.Info("proxy serving", "listener", set.cfg.Name, "port", l.port, "pool", set.cfg.Pool,
			"upstreams", len(set.pool.ups), "balance", set.pool.cfg.Balance.String(), "sni_routes", len(set.cfg.SNI),
			"tls", set.tls != nil, "accept_proxy", set.cfg.AcceptProxy)
	}
	a.mu.Unlock()
	<-ctx.Done()

	a.mu.Lock()
	a.serving, a.closing = false, true
	grace := a.file.Grace
	open := 0
	for port, l := range a.listeners {
		l.close()
		n, _ := l.lim.open()
		open += n
		delete(a.listeners, port)
		a.draining.Go(func() { l.drain(grace, a.log) })
	}
	a.log.Info("proxy stopped accepting", "open", open, "grace", grace)
	checkers := a.checkers
	a.checkers = nil
	a.mu.Unlock()
	// Not under a.mu: scrapes (Families) and Stats go on meanwhile.
	a.draining.Wait()
	for _, c := range checkers {
		c.stop()
	}
	a.mu.Lock()
	old := a.swapMetrics(nil)
	a.mu.Unlock()
	stopMetrics(old)
}

// Run serves f on s until ctx ends (New, Start, Serve).
func Run(ctx context.Context, s *stack.Stack, f *config.File, o Options) error {
	a, err := New(s, f, o)
	if err != nil {
		return err
	}
	if err := a.Start(); err != nil {
		return err
	}
	a.Serve(ctx)
	return nil
}

// Stats are the appliance's totals over all its listeners, past and
// present.
type Stats struct {
	Accepted       uint64 // clients accepted
	RefusedACL     uint64 // refused: client (or PROXY source) not allowed
	RefusedLimit   uint64 // reset after the handshake: max_conns or max_per_client
	RefusedNoUp    uint64 // refused or reset: no healthy upstream
	RefusedProxy   uint64 // reset: bad, late or missing PROXY header
	RefusedHello   uint64 // reset: bad, late or oversized ClientHello
	RefusedTLS     uint64 // reset: TLS handshake failed
	UpstreamErrors uint64 // no upstream could be connected to (after retries)
	IdleTimeouts   uint64 // connections closed by the idle timeout
	Resets         uint64 // connections ended by a reset from either side
	BytesUp        uint64 // bytes written to upstreams
	BytesDown      uint64 // bytes written to clients
	Active         int64  // connections open now
}

// Stats returns the totals.
func (a *Appliance) Stats() Stats {
	a.mu.Lock()
	all := append([]*listener(nil), a.all...)
	a.mu.Unlock()
	st := Stats{UpstreamErrors: a.upstreamErrors.Load(), BytesUp: a.bytesUp.Load(), BytesDown: a.bytesDown.Load()}
	for _, l := range all {
		st.Accepted += l.accepted.Load()
		st.RefusedACL += l.refused[refACL].Load() + l.refused[refProxySource].Load()
		st.RefusedLimit += l.refused[refMaxConns].Load() + l.refused[refMaxPerClient].Load()
		st.RefusedNoUp += l.refused[refNoUpstream].Load()
		st.RefusedProxy += l.refused[refProxyHeader].Load()
		st.RefusedHello += l.refused[refHello].Load()
		st.RefusedTLS += l.refused[refTLS].Load()
		st.IdleTimeouts += l.idleTimeouts.Load()
		st.Resets += l.clientResets.Load() + l.upstreamResets.Load()
		st.Active += l.active.Load()
	}
	return st
}

// openSlots returns the connection slots held over all listeners (tests).
func (a *Appliance) openSlots() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, l := range a.all {
		k, _ := l.lim.open()
		n += k
	}
	return n
}
