//go:build tamago && !mirago_metrics

package main

// A bare-metal image built without METRICS has no Prometheus endpoint and
// does not link internal/metrics: Config.Validate refuses a metrics port
// with buildcfg.ErrNoMetrics, so serveMetrics is never called.
const metricsBuilt = false

// serveMetrics is unreachable (see above); it logs rather than panics.
func (p *Proxy) serveMetrics() (stop func()) {
	p.log.Error("proxy: metrics endpoint not built into this image")
	return func() {}
}
