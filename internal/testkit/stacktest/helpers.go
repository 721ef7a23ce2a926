package stacktest

import (
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/impair"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/netif"
)

// Impair wraps d in the fault injector (drivers/impair) as spec says, in
// its syntax ("loss=0.02,reorder=0.02"); a non-zero seed replaces the
// spec's. An empty spec returns d.
func Impair(t testing.TB, d netif.Device, spec string, seed uint64) netif.Device {
	t.Helper()
	if spec == "" {
		return d
	}
	sp, err := impair.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	if seed != 0 {
		sp.Seed = seed
	}
	return impair.Wrap(d, sp, clock.Real{})
}

// Stream is a deterministic pseudo-random byte source of length n.
func Stream(seed uint64, n int64) io.Reader {
	return io.LimitReader(&prng{r: rand.New(rand.NewPCG(seed, seed^0x9e37))}, n)
}

type prng struct{ r *rand.Rand }

func (p *prng) Read(b []byte) (int, error) {
	for i := 0; i+8 <= len(b); i += 8 {
		v := p.r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := len(b) &^ 7; i < len(b); i++ {
		b[i] = byte(p.r.Uint32())
	}
	return len(b), nil
}

// WaitFor polls cond every 10ms until it holds, failing t after d.
func WaitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
