package stack_test

import (
	"crypto/sha256"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"io"
	"net"
	"testing"
	"time"
)

func digest(t *testing.T, r io.Reader) ([32]byte, int64) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Errorf("reading stream: %v", err)
	}
	return [32]byte(h.Sum(nil)), n
}

// exchange sends size bytes each way at once over c and checks both
// directions' SHA-256.
func exchange(t *testing.T, c net.Conn, peer net.Conn, size int64) {
	t.Helper()
	type res struct {
		sum [32]byte
		n   int64
	}
	fromPeer, fromUs := make(chan res, 1), make(chan res, 1)
	go func() { s, n := digest(t, c); fromPeer <- res{s, n} }()
	go func() { s, n := digest(t, peer); fromUs <- res{s, n} }()
	go func() {
		io.Copy(c, stacktest.Stream(1, size))
		c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	go func() {
		io.Copy(peer, stacktest.Stream(2, size))
		peer.(interface{ CloseWrite() error }).CloseWrite()
	}()
	want1, _ := digest(t, stacktest.Stream(1, size))
	want2, _ := digest(t, stacktest.Stream(2, size))
	timeout := time.After(5 * time.Minute)
	for _, w := range []struct {
		ch   chan res
		want [32]byte
		dir  string
	}{{fromUs, want1, "us->kernel"}, {fromPeer, want2, "kernel->us"}} {
		select {
		case r := <-w.ch:
			if r.n != size || r.sum != w.want {
				t.Fatalf("%s: %d bytes, sha256 match %v", w.dir, r.n, r.sum == w.want)
			}
		case <-timeout:
			t.Fatalf("%s: transfer did not finish", w.dir)
		}
	}
}
