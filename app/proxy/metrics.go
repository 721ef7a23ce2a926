//go:build !tamago || mirago_metrics

package main

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/internal/metrics"
	"github.com/mirago/mirago/stack/tcp"
)

// The Prometheus endpoint: always on the host, in a bare-metal image only
// when built with METRICS=PORT or a [metrics] table in CONFIG (tag
// mirago_metrics; see nometrics.go).
const metricsBuilt = true

// metricsEndpoint serves the stack's counters and the appliance's on its
// own port, behind its own ACL (checked at SYN time, like the
// listeners').
type metricsEndpoint struct {
	port    uint16
	ln      *tcp.Listener
	allow   atomic.Pointer[[]netip.Prefix]
	next    []netip.Prefix // allow list to take at swapMetrics
	refused atomic.Uint64
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// reloadMetrics returns the endpoint m asks for: the running one if the
// port is the same, a new one listening but not yet serving, or nil for
// none (a.mu held).
func (a *Appliance) reloadMetrics(m config.Metrics) (*metricsEndpoint, error) {
	if m.Port == 0 {
		return nil, nil
	}
	if a.metrics != nil && a.metrics.port == m.Port {
		a.metrics.next = m.Allow
		return a.metrics, nil
	}
	if l := a.listeners[m.Port]; l != nil {
		return nil, fmt.Errorf("metrics port %d: still a listener's", m.Port)
	}
	ln, err := a.s.TCP().Listen(m.Port)
	if err != nil {
		return nil, fmt.Errorf("metrics port %d: %w", m.Port, err)
	}
	return &metricsEndpoint{port: m.Port, ln: ln, next: m.Allow}, nil
}

// swapMetrics makes e the endpoint (a.mu held) and returns the one it
// replaces, if any, for stopMetrics once a.mu is released: a scrape in
// progress may be waiting for a.mu in Families.
func (a *Appliance) swapMetrics(e *metricsEndpoint) (old *metricsEndpoint) {
	if a.metrics != e {
		old = a.metrics
	}
	if e == nil {
		a.metrics = nil
		return old
	}
	allow := e.next
	e.allow.Store(&allow)
	if e == a.metrics {
		return nil
	}
	a.metrics = e
	e.ln.SetFilter(func(client netip.AddrPort) bool {
		if own := a.ownLocked(); allowed(*e.allow.Load(), &own, client.Addr()) {
			return true
		}
		e.refused.Add(1)
		a.refusals.note(client, "metrics", "acl")
		return false
	})
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.wg.Go(func() { metrics.ServeListener(ctx, a.s, e.ln, a.Families, a.log) })
	return old
}

// stopMetrics stops an endpoint swapMetrics replaced (a.mu not held).
func stopMetrics(e *metricsEndpoint) {
	if e != nil {
		e.cancel()
		e.wg.Wait()
	}
}

// Families returns the appliance's metrics: per listener, per pool and
// per upstream (mirago_proxy_...).
func (a *Appliance) Families() []metrics.Family {
	a.mu.Lock()
	ls := make([]*listener, 0, len(a.listeners))
	for _, l := range a.listeners {
		ls = append(ls, l)
	}
	pools := make([]*pool, 0, len(a.pools))
	for _, pc := range a.file.Pools {
		pools = append(pools, a.pools[pc.Name])
	}
	var mrefused uint64
	if a.metrics != nil {
		mrefused = a.metrics.refused.Load()
	}
	a.mu.Unlock()

	const p = metrics.Prefix + "_proxy_"
	fam := func(name, help string, t metrics.Type) *metrics.Family {
		return &metrics.Family{Name: p + name, Help: help, Type: t}
	}
	lConns := fam("listener_connections", "clients accepted", metrics.Counter)
	lActive := fam("listener_active", "connections open", metrics.Gauge)
	lRefused := fam("listener_refused", "clients refused, by reason", metrics.Counter)
	lIn := fam("listener_bytes_in", "bytes from clients, written to upstreams", metrics.Counter)
	lOut := fam("listener_bytes_out", "bytes written to clients", metrics.Counter)
	lIdle := fam("listener_idle_timeouts", "connections closed by the idle timeout", metrics.Counter)
	lResets := fam("listener_resets", "connections ended by a reset, by the side that reset", metrics.Counter)
	for _, l := range ls {
		lab := []metrics.Label{{Name: "listener", Value: l.set.Load().cfg.Name}}
		byFamily(lConns, lab, float64(l.accepted.Load()), float64(l.accepted6.Load()))
		byFamily(lActive, lab, float64(l.active.Load()), float64(l.active6.Load()))
		for r := range numReasons {
			add(lRefused, with(lab, "reason", reason(r).String()), float64(l.refused[r].Load()))
		}
		add(lIn, lab, float64(l.bytesIn.Load()))
		add(lOut, lab, float64(l.bytesOut.Load()))
		add(lIdle, lab, float64(l.idleTimeouts.Load()))
		add(lResets, with(lab, "side", "client"), float64(l.clientResets.Load()))
		add(lResets, with(lab, "side", "upstream"), float64(l.upstreamResets.Load()))
	}

	pConns := fam("pool_connections", "connections made to the pool's upstreams", metrics.Counter)
	pActive := fam("pool_active", "connections open through the pool", metrics.Gauge)
	pRefused := fam("pool_refused", "clients refused: no healthy upstream", metrics.Counter)
	pHealthy := fam("pool_healthy", "upstreams up", metrics.Gauge)
	pSize := fam("pool_upstreams", "upstreams configured", metrics.Gauge)
	uConns := fam("upstream_connections", "connections made", metrics.Counter)
	uActive := fam("upstream_active", "connections open or being opened", metrics.Gauge)
	uFails := fam("upstream_connect_failures", "connection attempts that failed", metrics.Counter)
	uSent := fam("upstream_bytes_sent", "bytes written to the upstream", metrics.Counter)
	uRecv := fam("upstream_bytes_received", "bytes from the upstream, written to clients", metrics.Counter)
	uUp := fam("upstream_up", "1 if the upstream takes connections (health checks), else 0", metrics.Gauge)
	uChecks := fam("upstream_checks", "health checks run", metrics.Counter)
	uCheckFails := fam("upstream_check_failures", "health checks failed", metrics.Counter)
	uTime := fam("upstream_connect_seconds", "time to connect, successful connects", metrics.Histogram)
	for _, pl := range pools {
		lab := []metrics.Label{{Name: "pool", Value: pl.cfg.Name}}
		byFamily(pConns, lab, float64(pl.conns.Load()), float64(pl.conns6.Load()))
		add(pActive, lab, float64(pl.active.Load()))
		add(pRefused, lab, float64(pl.refused.Load()))
		add(pHealthy, lab, float64(pl.healthy()))
		add(pSize, lab, float64(len(pl.ups)))
		for _, m := range pl.ups {
			u := m.upstream
			ul := with(lab, "upstream", u.addr)
			byFamily(uConns, ul, float64(u.conns.Load()), float64(u.conns6.Load()))
			add(uActive, ul, float64(u.active.Load()))
			add(uFails, ul, float64(u.connectFails.Load()))
			add(uSent, ul, float64(u.bytesSent.Load()))
			add(uRecv, ul, float64(u.bytesRecv.Load()))
			up := 0.0
			if u.up.Load() {
				up = 1
			}
			add(uUp, ul, up)
			add(uChecks, ul, float64(u.checks.Load()))
			add(uCheckFails, ul, float64(u.checkFails.Load()))
			cum, sum := u.connectTime.snapshot()
			uTime.Samples = append(uTime.Samples, metrics.HistogramSamples(ul, u.connectTime.bounds, cum, sum)...)
		}
	}
	errs := fam("upstream_errors", "clients not served: no upstream could be connected to", metrics.Counter)
	add(errs, nil, float64(a.upstreamErrors.Load()))
	mref := fam("metrics_refused", "scrapes refused by the metrics ACL", metrics.Counter)
	add(mref, nil, float64(mrefused))
	var out []metrics.Family
	for _, f := range []*metrics.Family{lConns, lActive, lRefused, lIn, lOut, lIdle, lResets, pConns, pActive, pRefused,
		pHealthy, pSize, uConns, uActive, uFails, uSent, uRecv, uUp, uChecks, uCheckFails, uTime, errs, mref} {
		out = append(out, *f)
	}
	return out
}

// byFamily adds a sample per address family: family="ipv4" the total
// less IPv6's share, family="ipv6" that share.
func byFamily(f *metrics.Family, labels []metrics.Label, total, six float64) {
	add(f, with(labels, "family", "ipv4"), total-six)
	add(f, with(labels, "family", "ipv6"), six)
}

func add(f *metrics.Family, labels []metrics.Label, v float64) {
	f.Samples = append(f.Samples, metrics.Sample{Labels: labels, Value: v})
}

func with(labels []metrics.Label, name, value string) []metrics.Label {
	return append(append(make([]metrics.Label, 0, len(labels)+1), labels...), metrics.Label{Name: name, Value: value})
}
