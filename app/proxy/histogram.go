package main

import (
	"math"
	"sync/atomic"
)

// histogram counts observations for a Prometheus histogram, lock-free:
// each observation is counted once, in its own bucket, and the buckets
// are made cumulative when exported.
type histogram struct {
	bounds []float64       // upper bounds, increasing; +Inf implied
	counts []atomic.Uint64 // len(bounds)+1
	sum    atomic.Uint64   // float64 bits
}

// connectBuckets are the connect latency buckets, in seconds: from half a
// millisecond (an upstream on the same link) to the longest connect
// timeouts.
var connectBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func (h *histogram) init(bounds []float64) {
	h.bounds = bounds
	h.counts = make([]atomic.Uint64, len(bounds)+1)
}

// observe records v.
func (h *histogram) observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// snapshot returns the cumulative counts per bound (the last is +Inf, the
// total count) and the sum.
func (h *histogram) snapshot() (cum []uint64, sum float64) {
	cum = make([]uint64, len(h.counts))
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
		cum[i] = n
	}
	return cum, math.Float64frombits(h.sum.Load())
}
