// The board DRBG (host-testable).

package qemuvirt

import (
	"crypto/sha256"
	"math/rand/v2"
	"sync"
)

// DRBG is the board's random bit generator: ChaCha8 (math/rand/v2, a
// fast-key-erasure generator) keyed from a hardware seed. It is safe for
// concurrent use and Read does not allocate.
type DRBG struct {
	mu     sync.Mutex
	c      rand.ChaCha8
	seeded bool
}

// Reseed mixes entropy into the key: the new key is SHA-256 of 32 bytes of
// current output and entropy, so a weak reseed never weakens the state.
func (d *DRBG) Reseed(entropy []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var cur [32]byte
	d.c.Read(cur[:])
	h := sha256.New()
	h.Write(cur[:])
	h.Write(entropy)
	var key [32]byte
	h.Sum(key[:0])
	d.c.Seed(key)
	d.seeded = true
	clear(cur[:])
	clear(key[:])
}

// Seeded reports whether Reseed has been called.
func (d *DRBG) Seeded() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seeded
}

// Read fills p. It never fails.
func (d *DRBG) Read(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.c.Read(p)
}
