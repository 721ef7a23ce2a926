package flow

import (
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/mirago/mirago/internal/deadline"
)

// DefaultPipeBuffer is the default bound on bytes in flight in each
// direction of a Pipe.
const DefaultPipeBuffer = 64 << 10

// PipeOptions configures Pipe. The zero value is ready to use.
type PipeOptions struct {
	// BufferSize bounds the bytes buffered in each direction; a Write
	// blocks while the buffer is full. 0 means DefaultPipeBuffer.
	BufferSize int
	// AddrA is the address of end a (default Addr{Name: "pipe-a"}).
	AddrA net.Addr
	// AddrB is the address of end b (default Addr{Name: "pipe-b"}).
	AddrB net.Addr
}

// Pipe returns a connected pair of in-memory flows. Unlike net.Pipe, each
// direction is buffered (Write returns once its bytes fit in the buffer)
// and either side can be half-closed. CloseRead on one end makes the
// peer's later writes succeed and be dropped, as data arriving after
// shutdown(SHUT_RD) is; Close on one end makes the peer's writes fail with
// ErrPeerClosed and gives the peer EOF after the data already written.
// Abort (flow.Aborter) is Close with a reset: the peer reads the data
// already written, then ErrReset, and its writes fail with ErrReset.
func Pipe(o PipeOptions) (a, b Flow) {
	size := o.BufferSize
	if size <= 0 {
		size = DefaultPipeBuffer
	}
	addrA, addrB := o.AddrA, o.AddrB
	if addrA == nil {
		addrA = Addr{Name: "pipe-a"}
	}
	if addrB == nil {
		addrB = Addr{Name: "pipe-b"}
	}
	ab, ba := newPipeDir(size), newPipeDir(size)
	return newPipeEnd(ba, ab, addrA, addrB), newPipeEnd(ab, ba, addrB, addrA)
}

// pipeEnd is one end of a Pipe.
type pipeEnd struct {
	rd, wr        *pipeDir // the direction read from, and written to
	rdl, wdl      *deadline.Deadline
	wmu           sync.Mutex // serialises Write and WriteBuffers
	closeOnce     sync.Once
	closed        chan struct{}
	local, remote net.Addr
}

func newPipeEnd(rd, wr *pipeDir, local, remote net.Addr) *pipeEnd {
	return &pipeEnd{
		rd: rd, wr: wr,
		rdl: new(deadline.Deadline), wdl: new(deadline.Deadline),
		closed: make(chan struct{}),
		local:  local, remote: remote,
	}
}

// Read implements net.Conn.Read.
func (e *pipeEnd) Read(p []byte) (int, error) {
	for {
		if isClosed(e.closed) {
			return 0, ErrClosed
		}
		dl := e.rdl.Done()
		if isClosed(dl) {
			return 0, os.ErrDeadlineExceeded
		}
		d := e.rd
		d.mu.Lock()
		switch {
		case d.shut:
			d.mu.Unlock()
			return 0, io.EOF
		case d.n > 0:
			n := d.get(p)
			if n > 0 {
				d.signal()
			}
			d.mu.Unlock()
			return n, nil
		case d.eof && d.reset:
			d.mu.Unlock()
			return 0, ErrReset
		case d.eof:
			d.mu.Unlock()
			return 0, io.EOF
		case len(p) == 0:
			d.mu.Unlock()
			return 0, nil
		}
		ch := d.changed
		d.mu.Unlock()
		select {
		case <-ch:
		case <-dl:
		case <-e.closed:
		}
	}
}

// Write implements net.Conn.Write.
func (e *pipeEnd) Write(p []byte) (int, error) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	return e.write(p)
}

// WriteBuffers implements Flow.WriteBuffers. The buffers are written
// without other writes in between.
func (e *pipeEnd) WriteBuffers(v [][]byte) (int64, error) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	var total int64
	for _, b := range v {
		n, err := e.write(b)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	if total == 0 {
		// Report a closed flow even for an empty write.
		_, err := e.write(nil)
		return 0, err
	}
	return total, nil
}

// write is Write with wmu held.
func (e *pipeEnd) write(p []byte) (int, error) {
	total := 0
	for {
		if isClosed(e.closed) {
			return total, ErrClosed
		}
		dl := e.wdl.Done()
		if isClosed(dl) {
			return total, os.ErrDeadlineExceeded
		}
		d := e.wr
		d.mu.Lock()
		switch {
		case d.eof:
			d.mu.Unlock()
			return total, ErrClosed
		case d.gone && d.reset:
			d.mu.Unlock()
			return total, ErrReset
		case d.gone:
			d.mu.Unlock()
			return total, ErrPeerClosed
		case d.shut:
			d.mu.Unlock()
			return total + len(p), nil // dropped, as after SHUT_RD
		}
		if n := d.put(p); n > 0 {
			total += n
			p = p[n:]
			d.signal()
		}
		if len(p) == 0 {
			d.mu.Unlock()
			return total, nil
		}
		ch := d.changed
		d.mu.Unlock()
		select {
		case <-ch:
		case <-dl:
		case <-e.closed:
		}
	}
}

// CloseWrite implements Flow.CloseWrite: the peer reads the buffered data,
// then io.EOF.
func (e *pipeEnd) CloseWrite() error {
	if isClosed(e.closed) {
		return ErrClosed
	}
	e.wr.mu.Lock()
	if !e.wr.eof {
		e.wr.eof = true
		e.wr.signal()
	}
	e.wr.mu.Unlock()
	return nil
}

// CloseRead implements Flow.CloseRead: reads return io.EOF and data from
// the peer is dropped.
func (e *pipeEnd) CloseRead() error {
	if isClosed(e.closed) {
		return ErrClosed
	}
	e.rd.mu.Lock()
	if !e.rd.shut {
		e.rd.shut = true
		e.rd.drop()
		e.rd.signal()
	}
	e.rd.mu.Unlock()
	return nil
}

// Close implements net.Conn.Close. It is idempotent.
func (e *pipeEnd) Close() error {
	e.closeOnce.Do(func() { e.end(false) })
	return nil
}

// Abort implements Aborter: Close, but the peer reads ErrReset after the
// data already written (unless it had EOF already) and its writes fail
// with ErrReset, as after a TCP RST. After Close it does nothing.
func (e *pipeEnd) Abort() error {
	e.closeOnce.Do(func() { e.end(true) })
	return nil
}

// end closes e, with a reset if reset is set.
func (e *pipeEnd) end(reset bool) {
	close(e.closed)
	e.wr.mu.Lock()
	if !e.wr.eof {
		e.wr.eof = true
		e.wr.reset = reset
	}
	e.wr.signal()
	e.wr.mu.Unlock()
	e.rd.mu.Lock()
	e.rd.gone = true
	e.rd.reset = e.rd.reset || reset
	e.rd.drop()
	e.rd.signal()
	e.rd.mu.Unlock()
}

// LocalAddr implements net.Conn.LocalAddr.
func (e *pipeEnd) LocalAddr() net.Addr { return e.local }

// RemoteAddr implements net.Conn.RemoteAddr.
func (e *pipeEnd) RemoteAddr() net.Addr { return e.remote }

// SetDeadline implements net.Conn.SetDeadline.
func (e *pipeEnd) SetDeadline(t time.Time) error {
	e.rdl.Set(t)
	e.wdl.Set(t)
	return nil
}

// SetReadDeadline implements net.Conn.SetReadDeadline.
func (e *pipeEnd) SetReadDeadline(t time.Time) error {
	e.rdl.Set(t)
	return nil
}

// SetWriteDeadline implements net.Conn.SetWriteDeadline.
func (e *pipeEnd) SetWriteDeadline(t time.Time) error {
	e.wdl.Set(t)
	return nil
}
