package usbarmory

// A DRBG seeded from timer jitter, for the emulated SoC, which has no RNG.

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"sync"
)

// jitterSamples is how many counter deltas seed the DRBG. Under QEMU the
// ARM generic timer follows the host clock, so each delta carries a few
// bits of host scheduling and TCG translation noise; 4096 of them take a
// few milliseconds to gather.
const jitterSamples = 4096

// jitterSeed hashes the low bytes of the deltas between successive counter
// reads, each around a little hashing work, together with extra (for
// example tamago's own DRBG output). It makes no claim of a minimum
// entropy; it only avoids the near-constant seed tamago uses when the SoC
// has no generator.
func jitterSeed(counter func() uint64, extra []byte) [32]byte {
	h := sha256.New()
	h.Write(extra)
	var work [32]byte
	var b [2]byte
	prev := counter()
	for i := range jitterSamples {
		work = sha256.Sum256(work[:]) // vary the time between reads
		now := counter()
		binary.LittleEndian.PutUint16(b[:], uint16(now-prev)^uint16(i))
		h.Write(b[:])
		prev = now
	}
	h.Write(work[:])
	var seed [32]byte
	h.Sum(seed[:0])
	return seed
}

// drbg is an io.Reader over a ChaCha8 generator, safe for concurrent use.
type drbg struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func newDRBG(seed [32]byte) *drbg { return &drbg{r: rand.NewChaCha8(seed)} }

// Read fills p; it never fails.
func (d *drbg) Read(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r.Read(p)
}
