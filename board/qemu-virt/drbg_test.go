// DRBG tests.

package qemuvirt

import (
	"bytes"
	"testing"
)

func TestDRBG(t *testing.T) {
	var a, b DRBG
	if a.Seeded() {
		t.Fatal("seeded before Reseed")
	}
	a.Reseed([]byte("seed one"))
	b.Reseed([]byte("seed two"))
	pa, pb := make([]byte, 64), make([]byte, 64)
	a.Read(pa)
	b.Read(pb)
	if !a.Seeded() || bytes.Equal(pa, pb) {
		t.Fatal("different seeds gave the same output")
	}
	next := make([]byte, 64)
	a.Read(next)
	if bytes.Equal(pa, next) {
		t.Fatal("output repeats")
	}
	if n := testing.AllocsPerRun(100, func() { a.Read(pa) }); n != 0 {
		t.Errorf("Read allocates %v times", n)
	}
}

// read returns n bytes from a DRBG reseeded with each of seeds in turn.
func read(n int, seeds ...[]byte) []byte {
	var d DRBG
	for _, s := range seeds {
		d.Reseed(s)
	}
	p := make([]byte, n)
	d.Read(p)
	return p
}

func TestDRBGReseed(t *testing.T) {
	// The same seed sequence gives the same output.
	if !bytes.Equal(read(64, []byte("a"), []byte("b")), read(64, []byte("a"), []byte("b"))) {
		t.Error("same seeds, different output")
	}
	// Each reseed changes the output, even an empty one (it rekeys).
	outs := [][]byte{
		read(64, []byte("a")),
		read(64, []byte("b")),
		read(64, []byte("a"), []byte("a")),
		read(64, []byte("a"), []byte("b")),
		read(64, []byte("a"), nil),
		read(64, nil),
		read(64, []byte("a\x00")), // zero-padding must not collide with "a"
		read(64),                  // never seeded
	}
	for i := range outs {
		for j := range i {
			if bytes.Equal(outs[i], outs[j]) {
				t.Errorf("outputs %d and %d are equal", j, i)
			}
		}
	}
}

// TestDRBGLongEntropy: every byte of a long seed (> 32 bytes, not a
// multiple of 32) is used, the last one of the short last chunk included.
func TestDRBGLongEntropy(t *testing.T) {
	seed := make([]byte, 100)
	for i := range seed {
		seed[i] = byte(i)
	}
	base := read(64, seed)
	for _, i := range []int{0, 31, 32, 63, 64, 95, 96, 99} {
		s := bytes.Clone(seed)
		s[i] ^= 1
		if bytes.Equal(read(64, s), base) {
			t.Errorf("flipping byte %d of the seed does not change the output", i)
		}
	}
}

func TestDRBGReadAllocs(t *testing.T) {
	var d DRBG
	d.Reseed([]byte("seed"))
	p := make([]byte, 1000)
	if n := testing.AllocsPerRun(100, func() { d.Read(p) }); n != 0 {
		t.Errorf("Read allocates %v times", n)
	}
	e := make([]byte, 100)
	if n := testing.AllocsPerRun(100, func() { d.Reseed(e) }); n != 0 {
		t.Errorf("Reseed allocates %v times", n)
	}
}
