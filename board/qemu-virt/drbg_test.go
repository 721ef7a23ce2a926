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
