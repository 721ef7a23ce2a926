package flow

import "github.com/mirago/mirago/internal/blockpool"

// DefaultBufferSize is the copy buffer size of Forward and Proxy.
const DefaultBufferSize = 32 << 10

// getBuf returns a pooled buffer of at least size bytes (capped at 1 MiB);
// size <= 0 means DefaultBufferSize. The pools (blockpool.Copy, shared
// with flow/tlsflow and built like the stack's ring blocks) hold
// power-of-two sizes between 4 KiB and 1 MiB, so Forward and Proxy
// allocate no buffer per call in steady state.
func getBuf(size int) *blockpool.Block {
	if size <= 0 {
		size = DefaultBufferSize
	}
	return blockpool.Copy.Get(size)
}

// putBuf returns a buffer from getBuf to its pool.
func putBuf(b *blockpool.Block) { blockpool.Copy.Put(b) }
