package flowtest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mirago/mirago/flow"
)

// MakeFunc returns a fresh connected pair of flows. The suite closes both
// when the subtest ends.
type MakeFunc func(t *testing.T) (a, b flow.Flow)

// Run runs the flow semantics suite against the pairs mk makes: read and
// EOF rules, write after close, half-close both ways, CloseRead, Close
// idempotent and unblocking, deadlines, gather writes, concurrency and a
// large transfer. Each subtest also checks that no goroutine leaks. Both
// ends are symmetric, so tests run a->b; the half-close test runs both ways.
func Run(t *testing.T, mk MakeFunc) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b flow.Flow)
	}{
		{"ReadWrite", testReadWrite},
		{"EOFIsSticky", testEOFSticky},
		{"WriteAfterCloseWrite", testWriteAfterCloseWrite},
		{"UseAfterClose", testUseAfterClose},
		{"HalfCloseAFirst", testHalfClose},
		{"HalfCloseBFirst", func(t *testing.T, a, b flow.Flow) { testHalfClose(t, b, a) }},
		{"CloseRead", testCloseRead},
		{"CloseReadUnblocksRead", testCloseReadUnblocks},
		{"CloseIdempotent", testCloseIdempotent},
		{"CloseUnblocksRead", testCloseUnblocksRead},
		{"CloseUnblocksWrite", testCloseUnblocksWrite},
		{"PeerSeesEOFAfterClose", testPeerEOFAfterClose},
		{"ReadDeadlinePast", testReadDeadlinePast},
		{"ReadDeadlineWakesBlockedRead", testReadDeadlineWakes},
		{"ReadDeadlineFuture", testReadDeadlineFuture},
		{"WriteDeadlinePast", testWriteDeadlinePast},
		{"WriteDeadlineWakesBlockedWrite", testWriteDeadlineWakes},
		{"WriteBuffers", testWriteBuffers},
		{"Addrs", testAddrs},
		{"WritesDoNotInterleave", testWritesAtomic},
		{"FullDuplex", testFullDuplex},
		{"LargeTransfer", testLargeTransfer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			CheckGoroutines(t)
			a, b := mk(t)
			t.Cleanup(func() {
				a.Close()
				b.Close()
			})
			tc.fn(t, a, b)
		})
	}
}

func testReadWrite(t *testing.T, a, b flow.Flow) {
	mustWrite(t, a, "hello")
	mustReadFull(t, b, "hello")
	mustWrite(t, b, "world")
	mustReadFull(t, a, "world")
}

// Seed 004: once read returned EOF, no subsequent read is successful.
func testEOFSticky(t *testing.T, a, b flow.Flow) {
	mustWrite(t, a, "data")
	mustCall(t, "a.CloseWrite", a.CloseWrite())
	mustReadToEOF(t, b, "data")
	for i := range 2 {
		if n, err := b.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Fatalf("Read #%d after EOF = %d, %v; want 0, io.EOF", i, n, err)
		}
	}
}

// Seed 003/004: write after close fails with Closed.
func testWriteAfterCloseWrite(t *testing.T, a, b flow.Flow) {
	mustCall(t, "a.CloseWrite", a.CloseWrite())
	if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after CloseWrite: %v, want net.ErrClosed", err)
	}
	if _, err := a.WriteBuffers([][]byte{[]byte("x")}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteBuffers after CloseWrite: %v, want net.ErrClosed", err)
	}
	mustReadToEOF(t, b, "")
}

func testUseAfterClose(t *testing.T, a, b flow.Flow) {
	mustCall(t, "a.Close", a.Close())
	if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v, want net.ErrClosed", err)
	}
	if _, err := a.WriteBuffers([][]byte{[]byte("x")}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteBuffers after Close: %v, want net.ErrClosed", err)
	}
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v, want net.ErrClosed", err)
	}
}

// Seed 003: after close by one end the other can still write, and read
// sees the in-flight data, then EOF.
func testHalfClose(t *testing.T, a, b flow.Flow) {
	mustWrite(t, a, "ping")
	mustCall(t, "CloseWrite", a.CloseWrite())
	mustReadToEOF(t, b, "ping")
	mustWrite(t, b, "pong")
	mustWrite(t, b, "pong2")
	mustCall(t, "peer CloseWrite", b.CloseWrite())
	mustReadToEOF(t, a, "pongpong2")
}

// Seed 004: a flow shut down `read will never be read again; it can still
// write.
func testCloseRead(t *testing.T, a, b flow.Flow) {
	mustCall(t, "a.CloseRead", a.CloseRead())
	for i := range 2 {
		if n, err := a.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Fatalf("Read #%d after CloseRead = %d, %v; want 0, io.EOF", i, n, err)
		}
	}
	mustWrite(t, a, "still writing")
	mustCall(t, "a.CloseWrite", a.CloseWrite())
	mustReadToEOF(t, b, "still writing")
}

func testCloseReadUnblocks(t *testing.T, a, b flow.Flow) {
	ch := readAsync(a, 8)
	mustCall(t, "a.CloseRead", a.CloseRead())
	r := await(t, ch, "Read blocked across CloseRead")
	if r.n != 0 || r.err != io.EOF {
		t.Fatalf("blocked Read after CloseRead = %d, %v; want 0, io.EOF", r.n, r.err)
	}
}

// Seed 004: a subsequent close will not do anything.
func testCloseIdempotent(t *testing.T, a, b flow.Flow) {
	mustCall(t, "first Close", a.Close())
	mustCall(t, "second Close", a.Close())
	mustCall(t, "b.Close", b.Close())
	mustCall(t, "b.Close again", b.Close())
}

func testCloseUnblocksRead(t *testing.T, a, b flow.Flow) {
	ch := readAsync(a, 8)
	mustCall(t, "a.Close", a.Close())
	r := await(t, ch, "Read blocked across Close")
	if r.n != 0 || !errors.Is(r.err, net.ErrClosed) {
		t.Fatalf("blocked Read after Close = %d, %v; want 0, net.ErrClosed", r.n, r.err)
	}
}

func testCloseUnblocksWrite(t *testing.T, a, b flow.Flow) {
	ch := bigWriteAsync(a)
	a.Close() // may report a failed close_notify; the flow is closed anyway
	r := await(t, ch, "Write blocked across Close")
	if !errors.Is(r.err, net.ErrClosed) {
		t.Fatalf("blocked Write after Close = %d, %v; want net.ErrClosed", r.n, r.err)
	}
}

func testPeerEOFAfterClose(t *testing.T, a, b flow.Flow) {
	mustWrite(t, a, "bye")
	mustCall(t, "a.Close", a.Close())
	mustReadToEOF(t, b, "bye")
}

func checkTimeout(t testing.TB, what string, err error) {
	t.Helper()
	if !IsTimeout(err) {
		t.Fatalf("%s: %v; want a Timeout() error matching os.ErrDeadlineExceeded", what, err)
	}
}

// A read timeout is recoverable (net.Conn; net/http depends on it).
func testReadDeadlinePast(t *testing.T, a, b flow.Flow) {
	mustCall(t, "SetReadDeadline", a.SetReadDeadline(past))
	_, err := a.Read(make([]byte, 8))
	checkTimeout(t, "Read with past deadline", err)
	mustCall(t, "SetReadDeadline", a.SetReadDeadline(time.Time{}))
	mustWrite(t, b, "later")
	mustReadFull(t, a, "later")
}

func testReadDeadlineWakes(t *testing.T, a, b flow.Flow) {
	ch := readAsync(a, 8)
	mustCall(t, "SetReadDeadline", a.SetReadDeadline(past))
	r := await(t, ch, "Read blocked across a past deadline")
	checkTimeout(t, "blocked Read", r.err)
	mustCall(t, "SetDeadline", a.SetDeadline(time.Time{}))
	mustWrite(t, b, "after")
	mustReadFull(t, a, "after")
}

func testReadDeadlineFuture(t *testing.T, a, b flow.Flow) {
	const d = 50 * time.Millisecond
	start := time.Now()
	mustCall(t, "SetReadDeadline", a.SetReadDeadline(start.Add(d)))
	ch := readAsync(a, 8)
	r := await(t, ch, "Read with a deadline")
	checkTimeout(t, "Read", r.err)
	if el := time.Since(start); el < d {
		t.Fatalf("deadline fired after %v, before %v", el, d)
	}
}

func testWriteDeadlinePast(t *testing.T, a, b flow.Flow) {
	mustCall(t, "SetWriteDeadline", a.SetWriteDeadline(past))
	_, err := a.Write([]byte("x"))
	checkTimeout(t, "Write with past deadline", err)
}

func testWriteDeadlineWakes(t *testing.T, a, b flow.Flow) {
	ch := bigWriteAsync(a)
	mustCall(t, "SetWriteDeadline", a.SetWriteDeadline(past))
	r := await(t, ch, "Write blocked across a past deadline")
	checkTimeout(t, "blocked Write", r.err)
	if r.n >= 64<<20 {
		t.Fatalf("blocked Write wrote everything (%d) with nobody reading", r.n)
	}
}

func testWriteBuffers(t *testing.T, a, b flow.Flow) {
	v := [][]byte{[]byte("ab"), nil, []byte("cde"), []byte("f")}
	n, err := a.WriteBuffers(v)
	if n != 6 || err != nil {
		t.Fatalf("WriteBuffers = %d, %v; want 6, nil", n, err)
	}
	if string(v[0]) != "ab" || len(v) != 4 {
		t.Fatalf("WriteBuffers modified its argument: %q", v)
	}
	mustCall(t, "CloseWrite", a.CloseWrite())
	mustReadToEOF(t, b, "abcdef")
}

func testAddrs(t *testing.T, a, b flow.Flow) {
	for _, ad := range []net.Addr{a.LocalAddr(), a.RemoteAddr(), b.LocalAddr(), b.RemoteAddr()} {
		if ad == nil {
			t.Fatal("nil address")
		}
	}
	if a.LocalAddr().String() != b.RemoteAddr().String() || b.LocalAddr().String() != a.RemoteAddr().String() {
		t.Fatalf("addresses do not match: a %v->%v, b %v->%v", a.LocalAddr(), a.RemoteAddr(), b.LocalAddr(), b.RemoteAddr())
	}
}

// Concurrent Writes each land contiguously (as with net.Conn's fd lock).
func testWritesAtomic(t *testing.T, a, b flow.Flow) {
	const writers, blocks, size = 4, 64, 3000
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			blk := bytes.Repeat([]byte{byte('A' + w)}, size)
			for i := range blocks {
				var err error
				if i%2 == 0 {
					_, err = a.Write(blk)
				} else {
					_, err = a.WriteBuffers([][]byte{blk[:size/3], blk[size/3:]})
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	buf := make([]byte, size)
	for i := range writers * blocks {
		if _, err := io.ReadFull(b, buf); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if bytes.Count(buf, buf[:1]) != size {
			t.Fatalf("block %d interleaves writes: %q...", i, buf[:64])
		}
	}
	for range writers {
		mustCall(t, "writer", await(t, errs, "writer"))
	}
}
