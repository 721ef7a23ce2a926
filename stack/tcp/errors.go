package tcp

import (
	"context"
	"net"
	"syscall"
)

// Error is a TCP error. It matches the corresponding syscall.Errno with
// errors.Is, so code written for the host stack keeps working.
type Error struct {
	msg     string
	errno   syscall.Errno
	timeout bool
}

// Error implements error.
func (e *Error) Error() string { return e.msg }

// Is reports whether target is the errno e stands for.
func (e *Error) Is(target error) bool {
	errno, ok := target.(syscall.Errno)
	return ok && e.errno != 0 && errno == e.errno
}

// Timeout reports whether e is a timeout (net.Error).
func (e *Error) Timeout() bool { return e.timeout }

// Temporary implements the deprecated net.Error method; always false.
func (e *Error) Temporary() bool { return false }

// Errors returned by the API.
var (
	// ErrRefused: the peer answered our SYN with a RST.
	ErrRefused = &Error{msg: "tcp: connection refused", errno: syscall.ECONNREFUSED}
	// ErrTimeout: the connection attempt or a retransmission timed out.
	ErrTimeout = &Error{msg: "tcp: connection timed out", errno: syscall.ETIMEDOUT, timeout: true}
	// ErrUnreachable: an ICMP destination unreachable aborted the connection.
	ErrUnreachable = &Error{msg: "tcp: destination unreachable", errno: syscall.EHOSTUNREACH}
	// ErrReset: the peer reset the connection.
	ErrReset = &Error{msg: "tcp: connection reset by peer", errno: syscall.ECONNRESET}
	// ErrAddrInUse: the port is already in use.
	ErrAddrInUse = &Error{msg: "tcp: address already in use", errno: syscall.EADDRINUSE}
	// ErrNoPorts: no ephemeral port is free for the destination.
	ErrNoPorts = &Error{msg: "tcp: no free ephemeral port", errno: syscall.EADDRNOTAVAIL}
	// ErrInvalid: a bad argument, such as a non-IPv4 address.
	ErrInvalid = &Error{msg: "tcp: invalid argument", errno: syscall.EINVAL}
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
