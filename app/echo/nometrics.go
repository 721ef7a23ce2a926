//go:build tamago && !mirago_metrics

package main

// A bare-metal image built without METRICS has no Prometheus endpoint and
// does not link internal/metrics (nor, through it, fmt and reflect's
// printing): Config.Validate refuses a metrics port with
// buildcfg.ErrNoMetrics, so
// serveMetrics is never called.
const metricsBuilt = false

// serveMetrics is unreachable (see above); it logs rather than panics.
func (e *server) serveMetrics() (stop func()) {
	e.log.Error("echo: metrics endpoint not built into this image")
	return func() {}
}
