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
	ErrRefused = &transport.Error{Msg: "tcp: connection refused", Errno: syscall.ECONNREFUSED}
	// ErrTimeout: the connection attempt or a retransmission timed out.
	ErrTimeout = &transport.Error{Msg: "tcp: connection timed out", Errno: syscall.ETIMEDOUT, IsTimeout: true}
	// ErrUnreachable: an ICMP destination unreachable aborted the connection.
	ErrUnreachable = &transport.Error{Msg: "tcp: destination unreachable", Errno: syscall.EHOSTUNREACH}
	// ErrReset: the peer reset the connection.
	ErrReset = &transport.Error{Msg: "tcp: connection reset by peer", Errno: syscall.ECONNRESET}
	// ErrAddrInUse: the port is already in use.
	ErrAddrInUse = &transport.Error{Msg: "tcp: address already in use", Errno: syscall.EADDRINUSE}
	// ErrNoPorts: no ephemeral port is free for the destination.
	ErrNoPorts = &transport.Error{Msg: "tcp: no free ephemeral port", Errno: syscall.EADDRNOTAVAIL}
	// ErrInvalid: a bad argument, such as a zero port or a broadcast address.
	ErrInvalid = &transport.Error{Msg: "tcp: invalid argument", Errno: syscall.EINVAL}
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
