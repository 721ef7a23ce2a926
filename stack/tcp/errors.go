package tcp

import (
	"context"
	"net"
	"syscall"

	"github.com/mirago/mirago/stack/transport"
)

// Error is a TCP error: a transport.Error, which matches the
// corresponding syscall.Errno with errors.Is, so code written for the host
// stack keeps working.
type Error = transport.Error

// Errors returned by the API.
var (
	// ErrRefused: the peer answered our SYN with a RST.
	ErrRefused = transport.NewError("tcp: connection refused", syscall.ECONNREFUSED, false)
	// ErrTimeout: the connection attempt or a retransmission timed out.
	ErrTimeout = transport.NewError("tcp: connection timed out", syscall.ETIMEDOUT, true)
	// ErrUnreachable: an ICMP destination unreachable aborted the connection.
	ErrUnreachable = transport.NewError("tcp: destination unreachable", syscall.EHOSTUNREACH, false)
	// ErrReset: the peer reset the connection.
	ErrReset = transport.NewError("tcp: connection reset by peer", syscall.ECONNRESET, false)
	// ErrAddrInUse: the port is already in use.
	ErrAddrInUse = transport.NewError("tcp: address already in use", syscall.EADDRINUSE, false)
	// ErrNoPorts: no ephemeral port is free for the destination.
	ErrNoPorts = transport.NewError("tcp: no free ephemeral port", syscall.EADDRNOTAVAIL, false)
	// ErrInvalid: a bad argument, such as a zero port or a broadcast address.
	ErrInvalid = transport.NewError("tcp: invalid argument", syscall.EINVAL, false)
	// ErrClosed is net.ErrClosed: the Conn or Listener was closed locally.
	ErrClosed = net.ErrClosed
)

// endErrs are the errors a connection can end with. A Conn keeps the
// index of its own (one byte where an error interface would take 16: it
// keeps an idle connection in a smaller allocation class).
var endErrs = [...]error{nil, ErrClosed, ErrRefused, ErrReset, ErrTimeout, ErrUnreachable,
	context.Canceled, context.DeadlineExceeded}

// endCode is err's index in endErrs. finish is only called with those
// (context errors come from ctx.Err(), which returns nothing else); any
// other error would be kept as ErrClosed.
func endCode(err error) uint8 {
	for i, e := range endErrs {
		if e == err {
			return uint8(i)
		}
	}
	return 1
}
