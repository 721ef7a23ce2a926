// Package bufpool holds the pooled byte buffers shared by package flow
// (Forward and Proxy copy buffers) and flow/tlsflow (coalesced gather
// writes).
package bufpool

import (
	"math/bits"
	"sync"
)

// Buffers come from pools of power-of-two sizes between 4 KiB and 1 MiB,
// so callers allocate no buffer per call in steady state.
const (
	minShift = 12
	maxShift = 20
)

var pools [maxShift - minShift + 1]sync.Pool

// shift rounds size to a pooled power of two and returns its log2.
func shift(size int) int {
	s := bits.Len(uint(max(size, 1) - 1))
	return min(max(s, minShift), maxShift)
}

// Get returns a pooled buffer of at least size bytes (capped at 1 MiB).
func Get(size int) *[]byte {
	s := shift(size)
	if b, ok := pools[s-minShift].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 1<<s)
	return &b
}

// Put returns a buffer from Get to its pool.
func Put(b *[]byte) {
	s := bits.Len(uint(len(*b) - 1))
	pools[s-minShift].Put(b)
}
