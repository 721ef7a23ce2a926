// The board DRBG (host-testable).

package qemuvirt

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
)

// DRBG is the board's random bit generator: ChaCha8 (math/rand/v2, a
// fast-key-erasure generator, https://c2sp.org/chacha8rand) keyed from a
// hardware seed. It is safe for concurrent use and Read does not allocate.
// It uses no crypto/... package: on bare metal any of them links the Go
// FIPS module (~150 KB) into the image.
type DRBG struct {
	mu     sync.Mutex
	c      rand.ChaCha8
	g      rand.ChaCha8 // Reseed's scratch PRF (a field: on the stack it escapes)
	seeded bool
}

// Reseed mixes entropy into the key by chaining ChaCha8 as a PRF of its
// key, G(k) = the first 32 bytes of ChaCha8 seeded with k:
//
//	k_0 = 32 bytes of current output, XOR len(entropy) in its last 8 bytes
//	k_i = G(k_{i-1} XOR m_i)   for each 32-byte chunk m_i (last one zero-padded)
//	new key = k_n
//
// Why this is sound: G is ChaCha8 keyed by its input with the feed-forward
// kept on the key words (chacha8rand spec), so under the usual assumption
// that ChaCha is a PRF of its key (the one HChaCha/XChaCha rely on), k_i
// is a CBC-MAC-like cascade over the entropy under the secret key k_0. The
// current state is never output or replaced, only extended: if it was
// secret, the new key is pseudorandom whatever the entropy is, so a weak,
// repeated or attacker-chosen reseed cannot weaken the generator. Folding
// in the length keeps "m" and "m||00" (same zero-padded chunks) apart.
//
// Its limit: as an extractor it is only as good as its input. On the
// first seed the state is the known zero key, so the new key has at most
// the min-entropy of the input (capped at 256 bits); an input an attacker
// can enumerate (the timer-jitter fallback under TCG, see entropy.go) stays
// enumerable, and no hash, SHA-256 included, could change that.
func (d *DRBG) Reseed(entropy []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var k [32]byte
	d.c.Read(k[:])
	binary.LittleEndian.PutUint64(k[24:], binary.LittleEndian.Uint64(k[24:])^uint64(len(entropy)))
	g := &d.g
	for len(entropy) > 0 {
		n := min(len(entropy), len(k))
		for i, b := range entropy[:n] {
			k[i] ^= b
		}
		entropy = entropy[n:]
		g.Seed(k)
		g.Read(k[:])
	}
	d.c.Seed(k)
	d.seeded = true
	clear(k[:])
	g.Seed(k) // overwrite the last intermediate key
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
