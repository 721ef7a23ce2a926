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

// Families returns the counters as metric families (mirago_echo_...).
// With an SNTP client, its counters and status follow (mirago_ntp_...).
func (e *server) Families() []metrics.Family {
	fams := metrics.Struct(metrics.Prefix+"_echo", e.Stats(), map[string]bool{"TCPActive": true})
	if e.cfg.NTPMetrics != nil {
		fams = append(fams, metrics.Struct(metrics.Prefix+"_ntp", e.cfg.NTPMetrics(), e.cfg.NTPGauges)...)
	}
	return fams
}

// serveMetrics serves the endpoint on e.mln in the background; stop ends
// it and waits for it.
func (e *server) serveMetrics() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { metrics.ServeListener(ctx, e.s, e.mln, e.Families, e.log) })
	return func() { cancel(); wg.Wait() }
}
