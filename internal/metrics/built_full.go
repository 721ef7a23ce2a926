//go:build !tamago || mirago_metrics

package metrics

// Built reports whether the scrape endpoint is part of this build. Host
// builds always have it; bare-metal images only with the mirago_metrics
// build tag (make image METRICS=PORT sets it), so that an image without a
// metrics port does not carry the endpoint. Callers test Built before
// serving, so that the compiler drops the endpoint from lean images.
const Built = true
