//go:build tamago && !mirago_metrics

package main

import "github.com/mirago/mirago/app/proxy/config"

// A bare-metal image built without METRICS has no Prometheus endpoint and
// does not link internal/metrics: config.Validate refuses a metrics port
// (Options.Metrics false), so these never have one to serve.
const metricsBuilt = false

type metricsEndpoint struct{}

func (a *Appliance) reloadMetrics(config.Metrics) (*metricsEndpoint, error) { return nil, nil }

func (a *Appliance) swapMetrics(*metricsEndpoint) *metricsEndpoint { return nil }

func stopMetrics(*metricsEndpoint) {}
