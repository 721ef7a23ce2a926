package stack_test

import (
	"errors"
	"io"
	"testing"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
)

// failAfter is an entropy source that fails after n bytes.
type failAfter struct{ n int }

var errEntropy = errors.New("entropy source failed")

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errEntropy
	}
	n := min(len(p), f.n)
	f.n -= n
	return n, nil
}

// A failing entropy source fails stack.New: without it TCP's ISNs, ports
// and SYN cookies would be predictable (RFC 6528 §3). Every failure point
// in the reads New makes is tried.
func TestNewFailsWithoutEntropy(t *testing.T) {
	for n := 0; n < 128; n += 2 {
		sw := memlink.NewSwitch(memlink.Config{})
		dev := sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 1}, 1500)
		s, err := stack.New(dev, stack.Config{Rand: &failAfter{n: n}})
		if err == nil {
			s.Close()
			if n < 70 { // the secrets alone take 68 bytes
				t.Fatalf("New succeeded with %d bytes of entropy", n)
			}
			continue
		}
		if !errors.Is(err, errEntropy) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%d bytes: error %v does not wrap the source's", n, err)
		}
		dev.Close()
	}
}
