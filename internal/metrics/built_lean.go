//go:build tamago && !mirago_metrics

package metrics

// Built reports whether the scrape endpoint is part of this build: not
// in this bare-metal image (built without the mirago_metrics tag; make
// image METRICS=PORT sets it). See built_full.go.
const Built = false
