package checksum

import (
	"math/rand/v2"
	"testing"
)

// TestSum32MatchesSum64: the 32-bit loop agrees with the 64-bit one (and
// so with the reference) on every length, alignment and running sum, as
// folded 16-bit sums (the running sums may differ in representation).
func TestSum32MatchesSum64(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	buf := make([]byte, 400)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for i := 100; i < 180; i++ {
		buf[i] = 0xff // runs of ones carry out of every lane
	}
	for off := range 4 {
		for n := 0; off+n <= len(buf); n++ {
			b := buf[off : off+n]
			for _, initial := range []uint32{0, 1, 0xffff, 0x1234_5678, 0xffff_fff0, 0xffff_ffff} {
				if got, want := Fold(sum32(b, initial)), Fold(sum64(b, initial)); got != want {
					t.Fatalf("offset %d len %d initial %#x: sum32 %#04x, sum64 %#04x", off, n, initial, got, want)
				}
			}
			if got, want := ^Fold(sum32(b, 0)), reference(b); got != want {
				t.Fatalf("offset %d len %d: sum32 %#04x, reference %#04x", off, n, got, want)
			}
		}
	}
}

func BenchmarkSum32_1460(b *testing.B) {
	buf := make([]byte, 1460)
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		sum32(buf[2:], 0)
	}
}

func BenchmarkSum64_1460(b *testing.B) {
	buf := make([]byte, 1460)
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		sum64(buf[2:], 0)
	}
}
