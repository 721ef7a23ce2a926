package flow

import (
	"errors"
	"fmt"
	"net"
	"os"
)

// Flow is a reliable byte stream to one endpoint (seeds 003 and 004).
//
// The contract, which flowtest.Run checks for every implementation:
//
//   - Read returns data until the peer has closed its write side and all
//     in-flight data has been read, then io.EOF. Once Read has returned
//     io.EOF or a non-timeout error, no later Read succeeds (seed 004).
//     Timeout errors are not sticky: net.Conn semantics, which net/http
//     relies on, let a Read continue after the deadline is moved.
//   - Write blocks until all of p has been accepted by the implementation
//     (not necessarily delivered). After CloseWrite or Close it fails with an
//     error matching ErrClosed (and so net.ErrClosed). After any other
//     non-timeout error no later Write succeeds.
//   - CloseWrite flushes pending writes and signals EOF to the peer (a TCP
//     FIN); reading is still possible. It is seed 004's shutdown `write.
//   - CloseRead makes this and every later Read return io.EOF, including a
//     Read blocked at the time; writing is still possible. Seed 004's
//     shutdown `read.
//   - Close does both, frees everything, and unblocks pending Read and Write
//     calls, which then fail with an error matching ErrClosed. Close is
//     idempotent: later calls do nothing and return nil. A flow layered on
//     another (TLS over TCP) closes the flow below too.
//   - Deadlines behave as in net.Conn: when one passes, blocked and future
//     calls fail with an error for which Timeout() is true and which
//     matches os.ErrDeadlineExceeded.
//   - Methods may be called from several goroutines at once; concurrent
//     Writes (and WriteBuffers) do not interleave their bytes.
type Flow interface {
	net.Conn

	// CloseRead shuts down the read side (seed 004, shutdown `read).
	CloseRead() error

	// CloseWrite shuts down the write side after flushing pending
	// writes, signalling EOF to the peer (seed 004, shutdown `write).
	CloseWrite() error

	// WriteBuffers writes the concatenation of v, as one Write would
	// (seed 003, writev). It returns the number of bytes accepted. The
	// buffers are not retained after it returns, and v itself is not
	// modified. Implementations that cannot do better may use
	// WriteBuffersSeq.
	WriteBuffers(v [][]byte) (int64, error)
}

// ErrClosed is returned by operations on a flow, or a flow side, that has
// been closed locally: Write after CloseWrite or Close, Read after Close.
// It wraps net.ErrClosed, so errors.Is(err, net.ErrClosed) holds.
var ErrClosed = fmt.Errorf("flow: %w", net.ErrClosed)

// ErrIdleTimeout is returned by Forward and Proxy when no byte moved for
// Options.IdleTimeout. It matches os.ErrDeadlineExceeded.
var ErrIdleTimeout = fmt.Errorf("flow: idle timeout: %w", os.ErrDeadlineExceeded)

// ErrPeerClosed is returned by Write on an in-memory flow whose peer has
// closed its read side with Close (the in-memory equivalent of a TCP
// reset after the peer's close).
var ErrPeerClosed = errors.New("flow: peer closed the connection")

// WriteBuffersSeq writes each buffer of v to w in turn with Write. It is a
// fallback for Flow.WriteBuffers on implementations without a native gather
// write. It stops at the first error.
func WriteBuffersSeq(w interface{ Write([]byte) (int, error) }, v [][]byte) (int64, error) {
	var total int64
	for _, b := range v {
		if len(b) == 0 {
			continue
		}
		n, err := w.Write(b)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Addr is a fake net.Addr for in-memory flows.
type Addr struct {
	// Net is the network name, "mem" if empty.
	Net string
	// Name is the address itself.
	Name string
}

// Network implements net.Addr.Network.
func (a Addr) Network() string {
	if a.Net == "" {
		return "mem"
	}
	return a.Net
}

// String implements net.Addr.String.
func (a Addr) String() string { return a.Name }
