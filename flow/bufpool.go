package flow

import (
	"math/bits"
	"sync"
)

// DefaultBufferSize is the copy buffer size of Forward and Proxy.
const DefaultBufferSize = 32 << 10

// Copy buffers come from pools of power-of-two sizes between 4 KiB and
// 1 MiB, so Forward and Proxy allocate no buffer per call in steady state.
const (
	minBufShift = 12
	maxBufShift = 20
)

var bufPools [maxBufShift - minBufShift + 1]sync.Pool

// bufShift rounds size to a pooled power of two and returns its log2.
func bufShift(size int) int {
	if size <= 0 {
		size = DefaultBufferSize
	}
	s := bits.Len(uint(size - 1))
	return min(max(s, minBufShift), maxBufShift)
}

// getBuf returns a pooled buffer of at least size bytes (capped at 1 MiB).
func getBuf(size int) *[]byte {
	s := bufShift(size)
	if b, ok := bufPools[s-minBufShift].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 1<<s)
	return &b
}

// putBuf returns a buffer from getBuf to its pool.
func putBuf(b *[]byte) {
	s := bits.Len(uint(len(*b) - 1))
	bufPools[s-minBufShift].Put(b)
}
