package flowtest

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirago/mirago/flow"
)

// The reset cases of RunProxy: a reset met on one end by any call (read,
// write, close-write) reaches the other end as a reset, and a stream cut
// in the middle of a write never ends with a clean EOF. In each case the
// peer that reads to the end must see an error matching flow.IsReset,
// never io.EOF: a truncated stream must not look complete.

// readToErr reads f until an error (bounded by Wait) and returns the
// bytes read and the error (io.EOF for a clean end).
func readToErr(t testing.TB, f flow.Flow) (int64, error) {
	t.Helper()
	defer bounded(f)()
	n, err := io.Copy(io.Discard, f)
	if err == nil {
		err = io.EOF
	}
	if IsTimeout(err) {
		t.Fatalf("read: nothing ended the stream within %v (after %d bytes)", Wait, n)
	}
	return n, err
}

// mustSeeReset reads f to its end, which must be a reset.
func mustSeeReset(t testing.TB, who string, f flow.Flow) int64 {
	t.Helper()
	n, err := readToErr(t, f)
	if !flow.IsReset(err) {
		t.Fatalf("%s read %d bytes, then %v; want a reset (a cut stream must not end cleanly)", who, n, err)
	}
	return n
}

// One end is reset by its peer after some data: the other end reads that
// data (or a prefix: a RST may overtake queued data), then a reset.
func testProxyPeerResets(t *testing.T, mk MakeFunc, server bool) {
	r := startProxy(t, mk, flow.Options{}, nil)
	resetter, other := r.client, r.server
	if server {
		resetter, other = other, resetter
	}
	mustWrite(t, resetter, "partial")
	mustCall(t, "Abort", flow.Abort(resetter))
	if n := mustSeeReset(t, "the other end", other); n > int64(len("partial")) {
		t.Fatalf("the other end read %d bytes, more than were sent", n)
	}
	d := r.wait(t)
	if !flow.IsReset(d.err) {
		t.Fatalf("Proxy error = %v, want the reset", d.err)
	}
	if d.res.AReset == server || d.res.BReset != server {
		t.Fatalf("Result = %+v; want the %s end marked reset", d.res, map[bool]string{false: "client (a)", true: "server (b)"}[server])
	}
}

// serveLots writes to f until it fails and counts what it wrote.
func serveLots(f flow.Flow, written *atomic.Int64) <-chan error {
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 8<<10)
		for {
			n, err := f.Write(buf)
			written.Add(int64(n))
			if err != nil {
				done <- err
				return
			}
		}
	}()
	return done
}

// waitFor polls cond (bounded by Wait; a poll, not synchronisation).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, Wait)
		}
		time.Sleep(time.Millisecond)
	}
}

// The issue 15 defect: the client sends a request and half-closes, then
// stops reading; the server answers with more than the buffers hold, so
// the proxy blocks writing to the client, and then the server resets.
// When the client reads again it must get the data, then a reset.
func testProxyResetAfterHalfClose(t *testing.T, mk MakeFunc) {
	r := startProxy(t, mk, flow.Options{}, nil)
	mustWrite(t, r.client, "request")
	mustCall(t, "client CloseWrite", r.client.CloseWrite())
	mustReadToEOF(t, r.server, "request")
	var written atomic.Int64
	done := serveLots(r.server, &written)
	waitFor(t, "the server to send 32 KiB", func() bool { return written.Load() >= 32<<10 })
	mustCall(t, "server Abort", flow.Abort(r.server))
	await(t, done, "the server's writer to stop")
	if n := mustSeeReset(t, "the client", r.client); n > written.Load() {
		t.Fatalf("client read %d bytes, more than the %d sent", n, written.Load())
	}
	if d := r.wait(t); !d.res.BReset || !flow.IsReset(d.err) {
		t.Fatalf("Proxy = %+v, %v; want the server end reset", d.res, d.err)
	}
}

// closeWriteResets is a flow whose CloseWrite meets a reset, as a TCP
// connection does when the peer's RST arrived while nothing read it.
type closeWriteResets struct{ flow.Flow }

func (c closeWriteResets) CloseWrite() error { return flow.ErrReset }

// The reset is met by the proxy's CloseWrite on the server end (the
// client's EOF is passed on after the server reset): the client gets a
// reset, not the FIN it would have had.
func testProxyCloseWriteResets(t *testing.T, mk MakeFunc) {
	r := startProxy(t, mk, flow.Options{}, func(a, b flow.Flow) (flow.Flow, flow.Flow) {
		return a, closeWriteResets{b}
	})
	mustWrite(t, r.client, "request")
	mustCall(t, "client CloseWrite", r.client.CloseWrite())
	mustSeeReset(t, "the client", r.client)
	d := r.wait(t)
	if !d.res.BReset || !errors.Is(d.err, flow.ErrReset) {
		t.Fatalf("Proxy = %+v, %v; want the server end reset", d.res, d.err)
	}
}

// stuckWrites is a flow whose writes block until it is closed, as writes
// to a peer that stopped reading do once the buffers are full. entered is
// closed when the first write begins.
type stuckWrites struct {
	flow.Flow
	closed  chan struct{}
	entered chan struct{}
	once    sync.Once
	enter   sync.Once
}

func (s *stuckWrites) Write(p []byte) (int, error) {
	s.enter.Do(func() { close(s.entered) })
	<-s.closed
	return 0, flow.ErrClosed
}

func (s *stuckWrites) WriteBuffers(v [][]byte) (int64, error) { return flow.WriteBuffersSeq(s, v) }

func (s *stuckWrites) Close() error {
	s.once.Do(func() { close(s.closed) })
	return s.Flow.Close()
}

func (s *stuckWrites) Abort() error {
	s.once.Do(func() { close(s.closed) })
	return flow.Abort(s.Flow)
}

// The idle timeout cuts the proxy while it is blocked writing to a client
// that stopped reading: the stream to the client is cut mid-write, so
// the client must get a reset, not a clean EOF.
//
// The case holds only if the server's bytes reach the proxy before the
// idle timeout: on a lossy link they may come after a retransmission
// timeout, and then the proxy, idle with nothing to write, rightly ends
// the client's stream with a FIN. Such a run is repeated with twice the
// idle timeout, so the case is always checked with the write in progress.
func testProxyIdleWhileWriting(t *testing.T, mk MakeFunc) {
	for idle := 100 * time.Millisecond; idle <= 6400*time.Millisecond; idle *= 2 {
		if proxyIdleWhileWriting(t, mk, idle) {
			return
		}
		t.Logf("the response reached the proxy after its %v idle timeout; again with twice the timeout", idle)
	}
	t.Fatal("the response never reached the proxy within its idle timeout")
}

// proxyIdleWhileWriting runs the case once; it reports false, having
// checked nothing, if the proxy ended before its write began.
func proxyIdleWhileWriting(t *testing.T, mk MakeFunc, idle time.Duration) bool {
	var stuck *stuckWrites
	r := startProxy(t, mk, flow.Options{IdleTimeout: idle}, func(a, b flow.Flow) (flow.Flow, flow.Flow) {
		stuck = &stuckWrites{Flow: a, closed: make(chan struct{}), entered: make(chan struct{})}
		return stuck, b
	})
	mustWrite(t, r.server, "response")
	d := r.wait(t)
	if !errors.Is(d.err, flow.ErrIdleTimeout) {
		t.Fatalf("Proxy error = %v, want ErrIdleTimeout", d.err)
	}
	select {
	case <-stuck.entered:
	default:
		return false
	}
	mustSeeReset(t, "the client", r.client)
	return true
}
