package flowtest

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/mirago/mirago/flow"
)

// Wait bounds how long a test waits for something that must happen.
var Wait = 10 * time.Second

// result is what a Read or Write in a goroutine returned.
type result struct {
	n   int
	err error
}

// await returns the value from ch, failing t if it does not come within
// Wait.
func await[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(Wait)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("%s: nothing after %v", what, Wait)
		panic("unreachable")
	}
}

// IsTimeout reports whether err is a net.Conn deadline error: Timeout()
// is true and it matches os.ErrDeadlineExceeded.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
}

// past is a deadline long gone.
var past = time.Unix(1, 0)

// bounded sets f's read and write deadlines Wait from now, so a helper
// fails instead of hanging when a flow misbehaves, and returns the reset.
func bounded(f flow.Flow) func() {
	f.SetDeadline(time.Now().Add(Wait))
	return func() { f.SetDeadline(time.Time{}) }
}

func mustWrite(t testing.TB, f flow.Flow, s string) {
	t.Helper()
	defer bounded(f)()
	n, err := f.Write([]byte(s))
	if err != nil || n != len(s) {
		t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
	}
}

func mustReadFull(t testing.TB, f flow.Flow, want string) {
	t.Helper()
	defer bounded(f)()
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(f, buf); err != nil {
		t.Fatalf("reading %q: %v", want, err)
	}
	if string(buf) != want {
		t.Fatalf("read %q, want %q", buf, want)
	}
}

// mustReadToEOF reads until io.EOF and checks the bytes.
func mustReadToEOF(t testing.TB, f flow.Flow, want string) {
	t.Helper()
	defer bounded(f)()
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("reading to EOF: %v (got %q)", err, got)
	}
	if string(got) != want {
		t.Fatalf("read %q before EOF, want %q", got, want)
	}
}

func mustCall(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// readAsync starts a Read of f and returns where its result arrives.
func readAsync(f flow.Flow, size int) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := f.Read(make([]byte, size))
		ch <- result{n, err}
	}()
	return ch
}

// bigWriteAsync starts a Write far larger than any sane buffer, so it
// blocks while nobody reads the peer.
func bigWriteAsync(f flow.Flow) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := f.Write(make([]byte, 64<<20))
		ch <- result{n, err}
	}()
	return ch
}
