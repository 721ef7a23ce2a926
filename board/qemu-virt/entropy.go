// Entropy: the runtime InitRNG/GetRandomData hooks, virtio-rng seeding, Rand.

//go:build tamago && arm

package qemuvirt

import (
	"encoding/binary"
	"io"
	_ "unsafe"

	"github.com/mirago/mirago/drivers/virtio"
)

// Entropy: the runtime asks for random bytes before the heap exists
// (runtime.randinit, for hash seeds). Until hwinit1 seeds drbg from
// virtio-rng, those bytes come from a non-allocating mix of the counter;
// afterwards every caller (runtime, crypto/rand if linked, Rand) reads
// drbg.
var (
	drbg       DRBG
	seeded     bool   // drbg holds a seed; set once in hwinit1
	earlyState uint64 // splitmix64 state for pre-seed bytes
	earlyReads int    // how many reads were served before seeding

	entropySource = "none"
)

//go:linkname initRNG runtime/goos.InitRNG
func initRNG() {}

//go:linkname getRandomData runtime/goos.GetRandomData
func getRandomData(b []byte) {
	if seeded {
		drbg.Read(b)
		return
	}
	earlyReads++
	for i := 0; i < len(b); i += 8 {
		earlyState += 0x9e3779b97f4a7c15 ^ ARM.Counter()
		z := earlyState
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(z >> (8 * j))
		}
	}
}

// seedEntropy seeds drbg from virtio-rng, or from timer jitter (loudly)
// when the machine has no virtio-rng-device.
func seedEntropy() {
	var seed [48]byte
	if err := readVirtioRNG(seed[:]); err == nil {
		entropySource = "virtio-rng"
		drbg.Reseed(seed[:])
	} else {
		entropySource = "timer-jitter"
		print("qemu-virt: WARNING: no entropy device (", err.Error(), ")\n")
		print("qemu-virt: WARNING: seeding the DRBG from timer jitter; keys and sequence numbers are PREDICTABLE.\n")
		print("qemu-virt: WARNING: add -device virtio-rng-device to the QEMU command line.\n")
		drbg.Reseed(timerJitter())
	}
	clear(seed[:])
	seeded = true
}

func readVirtioRNG(p []byte) error {
	s, ok := findSlot(virtio.DeviceEntropy)
	if !ok {
		return errNoDevice("virtio-rng")
	}
	mem, err := dmaMemory()
	if err != nil {
		return err
	}
	g, err := virtio.NewRNG(s.t, mem)
	if err != nil {
		return err
	}
	if _, err := io.ReadFull(g, p); err != nil {
		return err
	}
	rngDev = g
	return nil
}

// rngDev is the entropy device once it answered, for reseeding.
var rngDev *virtio.RNG

// timerJitter returns the low 16 bits of 4096 counter deltas, each
// around a pass of memory work; Reseed compresses them (drbg.go). Under
// TCG the deltas are nearly deterministic, so this is weak however it is
// compressed: it is the fallback, not a source.
func timerJitter() []byte {
	const samples = 4096
	out := make([]byte, 2*samples)
	scratch := make([]byte, 4096)
	for i := range samples {
		t0 := ARM.Counter()
		for j := range scratch {
			scratch[j] += byte(i + j)
		}
		binary.LittleEndian.PutUint16(out[2*i:], uint16(ARM.Counter()-t0))
	}
	return out
}

type errNoDevice string

func (e errNoDevice) Error() string { return "no " + string(e) + " device found" }

// Rand returns the board's random source: the DRBG seeded at boot. It is
// also what crypto/rand reads on this board.
func Rand() io.Reader { return &drbg }

// EntropySource says how the DRBG was seeded: "virtio-rng" or
// "timer-jitter" (insecure).
func EntropySource() string { return entropySource }
