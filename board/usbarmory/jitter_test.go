package usbarmory

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

func TestJitterSeedDependsOnTiming(t *testing.T) {
	var n uint64
	steady := func() uint64 { n += 100; return n }
	a := jitterSeed(steady, nil)
	n = 0
	if b := jitterSeed(steady, nil); a != b {
		t.Fatal("same counter sequence gave different seeds")
	}
	n = 0
	var i uint64
	wobbly := func() uint64 { i++; n += 100 + i%3; return n }
	if b := jitterSeed(wobbly, nil); a == b {
		t.Fatal("different timing gave the same seed")
	}
	n = 0
	if b := jitterSeed(steady, []byte("extra")); a == b {
		t.Fatal("extra input ignored")
	}
	clock := func() uint64 { return uint64(time.Now().UnixNano()) }
	if jitterSeed(clock, nil) == jitterSeed(clock, nil) {
		t.Fatal("two seeds from the real clock are equal")
	}
}

func TestDRBGReader(t *testing.T) {
	d1, d2 := newDRBG([32]byte{1}), newDRBG([32]byte{1})
	a, b := make([]byte, 64), make([]byte, 64)
	d1.Read(a)
	d2.Read(b)
	if !bytes.Equal(a, b) || bytes.Equal(a, make([]byte, 64)) {
		t.Fatal("DRBG not deterministic per seed, or all zero")
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			buf := make([]byte, 100)
			for range 100 {
				if n, err := d1.Read(buf); n != len(buf) || err != nil {
					t.Error(n, err)
				}
			}
		})
	}
	wg.Wait()
}
