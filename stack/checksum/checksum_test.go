package checksum

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/mirago/mirago/stack/inet"
)

// reference is the textbook RFC 1071 loop, 16 bits at a time.
func reference(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

func TestChecksumGoldenIPv4Header(t *testing.T) {
	// A real IPv4 header (RFC 1071 style example from a Linux ping) whose
	// stored checksum is 0xb861.
	h := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	if got := Checksum(h, 0); got != 0xb861 {
		t.Fatalf("Checksum = %#04x, want 0xb861", got)
	}
	h[10], h[11] = 0xb8, 0x61
	if got := Checksum(h, 0); got != 0 {
		t.Fatalf("checksum over a valid header = %#04x, want 0", got)
	}
}

func TestSumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if got, want := Checksum(b, 0), reference(b); got != want {
			t.Fatalf("len %d: Checksum = %#04x, reference %#04x", n, got, want)
		}
	}
}

func TestSumAtSplitsAnywhere(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 1501)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	want := reference(b)
	for split := 0; split <= len(b); split += 7 {
		s := Sum(b[:split], 0)
		s = SumAt(b[split:], split, s)
		if got := ^Fold(s); got != want {
			t.Fatalf("split %d: %#04x, want %#04x", split, got, want)
		}
	}
}

func TestUpdateIncremental(t *testing.T) {
	h := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	sum := Checksum(h, 0)
	// Decrement the TTL (0x40 -> 0x3f) in the TTL/protocol word.
	old := uint16(h[8])<<8 | uint16(h[9])
	h[8]--
	nw := uint16(h[8])<<8 | uint16(h[9])
	if got, want := Update(sum, old, nw), Checksum(h, 0); got != want {
		t.Fatalf("Update = %#04x, full recompute %#04x", got, want)
	}
}

func TestPseudo(t *testing.T) {
	src, dst := inet.AddrFrom4(inet.Addr4{10, 0, 2, 15}), inet.AddrFrom4(inet.Addr4{10, 0, 2, 2})
	ph := []byte{10, 0, 2, 15, 10, 0, 2, 2, 0, 17, 0x01, 0x00}
	if got, want := Fold(Pseudo(src, dst, 17, 256)), Fold(Sum(ph, 0)); got != want {
		t.Fatalf("Pseudo = %#04x, want %#04x", got, want)
	}
	// IPv6 (RFC 8200 §8.1): addresses, 32-bit length, 3 zero bytes, next header.
	s6 := inet.AddrFromNetip(netip.MustParseAddr("2001:db8::1"))
	d6 := inet.AddrFromNetip(netip.MustParseAddr("fe80::2"))
	a, b := s6.As16(), d6.As16()
	ph6 := append(append(a[:], b[:]...), 0, 1, 0, 4, 0, 0, 0, 58)
	if got, want := Fold(Pseudo(s6, d6, 58, 65540)), Fold(Sum(ph6, 0)); got != want {
		t.Fatalf("Pseudo IPv6 = %#04x, want %#04x", got, want)
	}
}

func BenchmarkSum1460(b *testing.B) {
	buf := make([]byte, 1460)
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		Sum(buf, 0)
	}
}

// TestSumChainsWithInitial checks every length up to a few iterations of
// the unrolled loop, with running sums that exercise the end-around carry,
// against the reference, both whole and split at an even offset.
func TestSumChainsWithInitial(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	b := make([]byte, 300)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for i := range 64 {
		b[i] = 0xff // long runs of ones carry out of every lane
	}
	for n := 0; n <= len(b); n++ {
		want := reference(b[:n])
		for _, initial := range []uint32{0, 1, 0xffff, 0x1234_5678, 0xffff_fff0, 0xffff_ffff} {
			// The reference of initial + b: fold initial in separately.
			w := ^Fold(Combine(uint32(^want), initial))
			if got := ^Fold(Sum(b[:n], initial)); got != w {
				t.Fatalf("len %d, initial %#x: %#04x, want %#04x", n, initial, got, w)
			}
			split := n / 2 &^ 1
			if got := ^Fold(Sum(b[split:n], Sum(b[:split], initial))); got != w {
				t.Fatalf("len %d split %d, initial %#x: %#04x, want %#04x", n, split, initial, got, w)
			}
		}
	}
}

func BenchmarkSum20(b *testing.B) {
	buf := make([]byte, 20)
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		Sum(buf, 0)
	}
}
