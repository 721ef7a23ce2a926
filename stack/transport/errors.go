package transport

import "syscall"

// Error is a transport's error: TCP's and UDP's errors are Errors. It
// matches the syscall.Errno it stands for with errors.Is, so code written
// for the host's sockets (and stack/socket, which installs the stack as
// package net's) keeps working without a translation table.
type Error struct {
	msg     string
	errno   syscall.Errno
	timeout bool
}

// NewError returns an Error with message msg standing for errno; timeout
// makes it a net.Error timeout.
func NewError(msg string, errno syscall.Errno, timeout bool) *Error {
	return &Error{msg: msg, errno: errno, timeout: timeout}
}

// Error implements error.
func (e *Error) Error() string { return e.msg }

// Is reports whether target is the errno e stands for.
func (e *Error) Is(target error) bool {
	errno, ok := target.(syscall.Errno)
	return ok && e.errno != 0 && errno == e.errno
}

// Errno is the errno e stands for.
func (e *Error) Errno() syscall.Errno { return e.errno }

// Timeout reports whether e is a timeout (net.Error).
func (e *Error) Timeout() bool { return e.timeout }

// Temporary implements the deprecated net.Error method; always false.
func (e *Error) Temporary() bool { return false }
