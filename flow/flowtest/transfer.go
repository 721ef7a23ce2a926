package flowtest

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/mirago/mirago/flow"
)

// pattern is a deterministic byte stream for integrity checks.
func pattern(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(p[i:], r.Uint64())
	}
	return p[:n]
}

// sendChunks writes data in random-sized chunks, mixing Write and
// WriteBuffers, then closes for writing.
func sendChunks(f flow.Flow, data []byte, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 1))
	for len(data) > 0 {
		n := min(1+r.IntN(70000), len(data))
		chunk := data[:n]
		data = data[n:]
		var err error
		if r.IntN(2) == 0 {
			_, err = f.Write(chunk)
		} else {
			h := r.IntN(n + 1)
			_, err = f.WriteBuffers([][]byte{chunk[:h], chunk[h:]})
		}
		if err != nil {
			return err
		}
	}
	return f.CloseWrite()
}

// recvAll reads to EOF with random-sized reads and returns the SHA-256.
func recvAll(f flow.Flow, seed uint64) ([32]byte, int, error) {
	r := rand.New(rand.NewPCG(seed, 2))
	h := sha256.New()
	buf := make([]byte, 100000)
	total := 0
	for {
		n, err := f.Read(buf[:1+r.IntN(len(buf)-1)])
		h.Write(buf[:n])
		total += n
		if err == io.EOF {
			var sum [32]byte
			copy(sum[:], h.Sum(nil))
			return sum, total, nil
		}
		if err != nil {
			return [32]byte{}, total, err
		}
	}
}

type recvResult struct {
	sum [32]byte
	n   int
	err error
}

func transfer(t *testing.T, src, dst flow.Flow, size int, seed uint64) (<-chan error, <-chan recvResult, [32]byte) {
	data := pattern(seed, size)
	sent := make(chan error, 1)
	got := make(chan recvResult, 1)
	go func() { sent <- sendChunks(src, data, seed) }()
	go func() {
		s, n, err := recvAll(dst, seed)
		got <- recvResult{s, n, err}
	}()
	return sent, got, sha256.Sum256(data)
}

func checkTransfer(t *testing.T, what string, sent <-chan error, got <-chan recvResult, want [32]byte, size int) {
	t.Helper()
	mustCall(t, what+" send", await(t, sent, what+" sender"))
	r := await(t, got, what+" receiver")
	mustCall(t, what+" receive", r.err)
	if r.n != size || r.sum != want {
		t.Fatalf("%s: received %d bytes, want %d; checksum match %v", what, r.n, size, r.sum == want)
	}
}

func testFullDuplex(t *testing.T, a, b flow.Flow) {
	const size = 3 << 20
	s1, g1, w1 := transfer(t, a, b, size, 1)
	s2, g2, w2 := transfer(t, b, a, size, 2)
	checkTransfer(t, "a->b", s1, g1, w1, size)
	checkTransfer(t, "b->a", s2, g2, w2, size)
}

func testLargeTransfer(t *testing.T, a, b flow.Flow) {
	const size = 8 << 20
	s, g, w := transfer(t, a, b, size, 3)
	checkTransfer(t, "a->b", s, g, w, size)
}
