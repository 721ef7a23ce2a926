// Package tlsflow layers TLS over a flow: a Conn is crypto/tls over a
// flow.Flow, and is itself a Flow (seed 004: a flow layered upon another,
// e.g. TLS over TCP).
//
// It is a package of its own so that package flow does not import
// crypto/tls: an image that uses flows but not TLS (app/proxy) then links
// neither crypto/tls nor crypto/x509.
package tlsflow

import (
	"crypto/tls"
	"io"
	"sync"
	"sync/atomic"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/internal/blockpool"
)

// Conn is a TLS connection layered over a flow.Flow; it is itself a Flow
// (seed 004: a flow layered upon another, e.g. TLS over TCP). It embeds the
// *tls.Conn, so Handshake, HandshakeContext, ConnectionState and the
// deadline methods are the crypto/tls ones.
//
//   - CloseWrite sends a close_notify alert (RFC 8446 §6.1), then calls
//     CloseWrite on the flow below. It completes the handshake first if
//     needed.
//   - CloseRead makes reads return io.EOF and calls CloseRead on the flow
//     below.
//   - Close sends close_notify (unless a Write is in flight) and closes the
//     flow below. It is idempotent.
//   - Abort (flow.Aborter) aborts the flow below (a TCP RST) without
//     close_notify, so the peer sees a cut stream, not a finished one.
//
// As with crypto/tls, a write that times out leaves the TLS state corrupt:
// later writes fail. Read timeouts are recoverable.
type Conn struct {
	*tls.Conn
	under     flow.Flow
	wmu       sync.Mutex // keeps WriteBuffers' records together
	rshut     atomic.Bool
	wshut     atomic.Bool
	closed    atomic.Bool
	closeOnce sync.Once
}

var _ flow.Flow = (*Conn)(nil)

// Client returns the client side of a TLS connection over f; see
// tls.Client. The handshake runs on first use or on Handshake.
func Client(f flow.Flow, cfg *tls.Config) *Conn {
	return &Conn{Conn: tls.Client(f, cfg), under: f}
}

// Server returns the server side of a TLS connection over f; see
// tls.Server.
func Server(f flow.Flow, cfg *tls.Config) *Conn {
	return &Conn{Conn: tls.Server(f, cfg), under: f}
}

// Under returns the flow the TLS connection runs over.
func (t *Conn) Under() flow.Flow { return t.under }

// Read implements net.Conn.Read.
func (t *Conn) Read(p []byte) (int, error) {
	if t.closed.Load() {
		return 0, flow.ErrClosed
	}
	if t.rshut.Load() {
		return 0, io.EOF
	}
	n, err := t.Conn.Read(p)
	if err != nil {
		switch {
		case t.closed.Load():
			err = flow.ErrClosed
		case t.rshut.Load():
			err = io.EOF
		}
	}
	return n, err
}

// Write implements net.Conn.Write.
func (t *Conn) Write(p []byte) (int, error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	return t.write(p)
}

func (t *Conn) write(p []byte) (int, error) {
	if t.closed.Load() || t.wshut.Load() {
		return 0, flow.ErrClosed
	}
	n, err := t.Conn.Write(p)
	if err != nil && t.closed.Load() {
		err = flow.ErrClosed
	}
	return n, err
}

// maxCoalesce is the largest gather write copied into one TLS record
// rather than sent as one record per buffer (RFC 8446 §5.1: 2^14 bytes).
const maxCoalesce = 16 << 10

// WriteBuffers implements flow.Flow.WriteBuffers. Small gathers are copied
// into one pooled buffer so they go out as one record.
func (t *Conn) WriteBuffers(v [][]byte) (int64, error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	total := 0
	for _, b := range v {
		total += len(b)
	}
	if len(v) > 1 && total <= maxCoalesce {
		bp := blockpool.Copy.Get(total)
		defer blockpool.Copy.Put(bp)
		buf := bp.B[:0]
		for _, b := range v {
			buf = append(buf, b...)
		}
		n, err := t.write(buf)
		return int64(n), err
	}
	return flow.WriteBuffersSeq(writerFunc(t.write), v)
}

// writerFunc adapts a write function to io.Writer.
type writerFunc func([]byte) (int, error)

// Write implements io.Writer.
func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// CloseWrite implements flow.Flow.CloseWrite: close_notify, then CloseWrite
// on the flow below.
func (t *Conn) CloseWrite() error {
	if t.closed.Load() {
		return flow.ErrClosed
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.wshut.Swap(true) {
		return nil
	}
	if !t.ConnectionState().HandshakeComplete {
		if err := t.Handshake(); err != nil {
			return err
		}
	}
	if err := t.Conn.CloseWrite(); err != nil {
		return err
	}
	return t.under.CloseWrite()
}

// CloseRead implements flow.Flow.CloseRead.
func (t *Conn) CloseRead() error {
	if t.closed.Load() {
		return flow.ErrClosed
	}
	t.rshut.Store(true)
	return t.under.CloseRead()
}

// Close implements net.Conn.Close: it closes the TLS connection and the
// flow below. It returns nil: like seed 004's close it does not fail, and a
// close_notify that cannot be sent because the peer has gone is expected.
// Only the first call does anything.
func (t *Conn) Close() error {
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		t.Conn.Close() // an error here is only a failed close_notify
	})
	return nil
}

// Abort implements flow.Aborter: it aborts the flow below (flow.Abort),
// then closes the TLS connection, whose close_notify then fails; the peer
// sees a reset, not a finished stream. After Close it does nothing.
func (t *Conn) Abort() error {
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		flow.Abort(t.under)
		t.Conn.Close()
	})
	return nil
}
