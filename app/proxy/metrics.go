//go:build !tamago || mirago_metrics

package main

import (
	"context"
	"sync"

	"github.com/mirago/mirago/internal/metrics"
)

// The Prometheus endpoint: always on the host, in a bare-metal image only
// when built with METRICS=PORT (tag mirago_metrics; see nometrics.go).
const metricsBuilt = true

// Families returns the proxy's counters as metric families
// (mirago_proxy_accepted, ...).
func (p *Proxy) Families() []metrics.Family {
	return metrics.Struct(metrics.Prefix+"_proxy", p.Stats(), map[string]bool{"Active": true})
}

// serveMetrics serves the endpoint on p.mln in the background; stop ends
// it and waits for it.
func (p *Proxy) serveMetrics() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { metrics.ServeListener(ctx, p.s, p.mln, p.Families, p.log) })
	return func() { cancel(); wg.Wait() }
}
