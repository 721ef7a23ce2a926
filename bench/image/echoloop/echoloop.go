// Package echoloop is the echo service shared by bench/image/gvecho and
// bench/image/miecho, so that the two images run the same app code and
// differ only in the stack under it.
package echoloop

import (
	"errors"
	"io"
	"net"

	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/logging"
)

// ServeTCP accepts connections from ln and echoes each on its own
// goroutine until Accept fails.
func ServeTCP(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return xerr.Wrap("tcp accept", err)
		}
		go echoConn(c)
	}
}

// echoConn is app/echo's echoConn: copy input back with a 32 KiB buffer;
// at EOF half-close, then close.
func echoConn(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err == io.EOF {
			if hc, ok := c.(interface{ CloseWrite() error }); ok {
				hc.CloseWrite()
			}
			return
		}
		if err != nil {
			return
		}
	}
}

// ServeUDP echoes each datagram read back to its sender until read fails.
// read and write are the socket's own methods (ReadFrom/WriteTo on
// gVisor's gonet, ReadFromAddrPort/WriteToAddrPort on mirago's).
func ServeUDP[A any](read func([]byte) (int, A, error), write func([]byte, A) (int, error), log logging.Logger) {
	buf := make([]byte, 65536)
	for {
		n, from, err := read(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				log.Warn("udp read", "err", err)
			}
			return
		}
		write(buf[:n], from)
	}
}
