package main

import (
	"io"
	"sync"
	"sync/atomic"
)

// Read buffers. An idle connection waits in Read with only its small
// buffer, so that many idle connections cost little (a board with 64 MiB
// of RAM holds 1000 of them, test/boot TestBootEchoIdle); a busy one
// borrows a large buffer from a pool while its reads keep filling the
// buffer, and gives it back as soon as a read comes back short, which
// means that read drained what had arrived.
const (
	smallReadBuf = 2 << 10  // held by every connection; more than one full segment
	largeReadBuf = 32 << 10 // borrowed while data keeps coming
)

var largeBufs = sync.Pool{New: func() any { b := make([]byte, largeReadBuf); return &b }}

// halfCloser is what echoConn needs of a connection (*tcp.Conn).
type halfCloser interface {
	io.ReadWriteCloser
	CloseWrite() error
}

// echoConn copies c's input back to it; at EOF it half-closes, which
// flushes what is buffered, then closes. It adds the bytes echoed to
// total as it goes.
func echoConn(c halfCloser, total *atomic.Uint64) (int64, error) {
	defer c.Close()
	small := make([]byte, smallReadBuf)
	var large *[]byte
	defer func() {
		if large != nil {
			largeBufs.Put(large)
		}
	}()
	var n64 int64
	for {
		buf := small
		if large != nil {
			buf = *large
		}
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return n64, werr
			}
			n64 += int64(n)
			total.Add(uint64(n))
		}
		switch {
		case large == nil && n == len(buf):
			large = largeBufs.Get().(*[]byte) // more may be waiting
		case large != nil && n < len(buf):
			largeBufs.Put(large) // drained: the next Read may wait long
			large = nil
		}
		if err == io.EOF {
			return n64, c.CloseWrite()
		}
		if err != nil {
			return n64, err
		}
	}
}
