package flow

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// ErrReset is returned by an in-memory flow whose peer aborted it (Abort):
// the in-memory equivalent of a TCP reset. It matches syscall.ECONNRESET,
// as our TCP's and the host's resets do.
var ErrReset = fmt.Errorf("flow: connection reset by peer: %w", syscall.ECONNRESET)

// Aborter is a flow that can end abruptly: its peer learns that the stream
// was cut (a TCP RST) rather than complete (a FIN). *tcp.Conn, Pipe ends
// and tlsflow.Conn implement it.
type Aborter interface {
	// Abort resets the flow and closes it, discarding data not yet sent.
	Abort() error
}

// IsReset reports whether err says the peer reset the flow: it matches
// syscall.ECONNRESET (our TCP's ErrReset, the host's, ErrReset), or it is
// ErrPeerClosed, an in-memory write to a peer that closed without reading.
func IsReset(err error) bool {
	return err != nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, ErrPeerClosed))
}

// Abort ends c with a reset, so that its peer never takes a truncated
// stream for a complete one: Abort if c is an Aborter; for a host socket
// (*net.TCPConn) SO_LINGER 0 then Close, which makes the kernel send a RST;
// otherwise a plain Close.
func Abort(c net.Conn) error {
	switch c := c.(type) {
	case Aborter:
		return c.Abort()
	case interface{ SetLinger(sec int) error }:
		c.SetLinger(0)
	}
	return c.Close()
}
