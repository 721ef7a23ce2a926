package transport

import "syscall"

// Error is a transport's error: TCP's and UDP's errors are Errors. It
// matches the syscall.Errno it stands for with errors.Is, so code written
// for the host's sockets (and stack/socket, which installs the stack as
// package net's) keeps working without a translation table.
//
// Errors are package-level values declared as composite literals (static
// data, no init code in an image).
type Error struct {
	Msg       string
	Errno     syscall.Errno
	IsTimeout bool // a net.Error timeout
}

// Error implements error.
func (e *Error) Error() string { return e.Msg }

// Is reports whether target is the errno e stands for.
func (e *Error) Is(target error) bool {
	errno, ok := target.(syscall.Errno)
	return ok && e.Errno != 0 && errno == e.Errno
}

// Timeout reports whether e is a timeout (net.Error).
func (e *Error) Timeout() bool { return e.IsTimeout }

// Temporary implements the deprecated net.Error method; always false.
func (e *Error) Temporary() bool { return false }
