package flow

import (
	"bytes"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mirago/mirago/internal/deadline"
)

// FromFuncs returns a flow whose Read calls read and whose Write calls
// write: seed 003's F, "in-memory, function-based flows", mostly for tests.
// A nil read gives io.EOF at once; a nil write accepts and drops all bytes.
//
// The flow keeps the Flow rules around the functions: reads stop for good
// after io.EOF or an error, CloseRead and Close make reads return io.EOF or
// ErrClosed, CloseWrite and Close make writes fail with ErrClosed. The
// functions are called one at a time for each direction. Deadlines are
// checked before each call but cannot interrupt a function that blocks, and
// Close does not either; functions should not block.
func FromFuncs(read, write func(p []byte) (int, error)) Flow {
	return &funcFlow{read: read, write: write, rdl: new(deadline.Deadline), wdl: new(deadline.Deadline)}
}

// FromReadWriter returns FromFuncs(r.Read, w.Write); r or w may be nil.
func FromReadWriter(r io.Reader, w io.Writer) Flow {
	var read, write func([]byte) (int, error)
	if r != nil {
		read = r.Read
	}
	if w != nil {
		write = w.Write
	}
	return FromFuncs(read, write)
}

// FromStrings returns a flow whose reads return the chunks in order, one
// chunk (or as much of it as fits) per Read, then io.EOF; chunk boundaries
// are kept so tests can check how a reader copes with them (seed 003's
// F.input_strings). Writes go to w, or are dropped if w is nil.
func FromStrings(w io.Writer, chunks ...string) Flow {
	var mu sync.Mutex
	read := func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		for len(chunks) > 0 && chunks[0] == "" {
			chunks = chunks[1:]
		}
		if len(chunks) == 0 {
			return 0, io.EOF
		}
		n := copy(p, chunks[0])
		chunks[0] = chunks[0][n:]
		return n, nil
	}
	var write func([]byte) (int, error)
	if w != nil {
		write = w.Write
	}
	return FromFuncs(read, write)
}

// FromString returns a flow that reads s, then io.EOF, and drops writes.
func FromString(s string) Flow { return FromStrings(nil, s) }

// Sink is an io.Writer that collects what is written to it, safe for
// concurrent use: the output side of a function-based flow (seed 003's
// F.output_string). The zero value is ready to use.
type Sink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer. It never fails.
func (s *Sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// String returns a copy of everything written so far.
func (s *Sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// funcFlow is the Flow returned by FromFuncs.
type funcFlow struct {
	read, write func([]byte) (int, error)
	rmu, wmu    sync.Mutex
	rerr, werr  error // sticky end of each side
	closed      atomic.Bool
	rdl, wdl    *deadline.Deadline
}

// Read implements net.Conn.Read.
func (f *funcFlow) Read(p []byte) (int, error) {
	f.rmu.Lock()
	defer f.rmu.Unlock()
	if f.closed.Load() {
		return 0, ErrClosed
	}
	if f.rerr != nil {
		return 0, f.rerr
	}
	if f.rdl.Expired() {
		return 0, os.ErrDeadlineExceeded
	}
	if f.read == nil {
		f.rerr = io.EOF
		return 0, io.EOF
	}
	n, err := f.read(p)
	if err != nil {
		f.rerr = err
	}
	return n, err
}

// Write implements net.Conn.Write.
func (f *funcFlow) Write(p []byte) (int, error) {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	return f.writeLocked(p)
}

func (f *funcFlow) writeLocked(p []byte) (int, error) {
	if f.closed.Load() {
		return 0, ErrClosed
	}
	if f.werr != nil {
		return 0, f.werr
	}
	if f.wdl.Expired() {
		return 0, os.ErrDeadlineExceeded
	}
	if f.write == nil {
		return len(p), nil
	}
	n, err := f.write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		f.werr = err
	}
	return n, err
}

// WriteBuffers implements Flow.WriteBuffers.
func (f *funcFlow) WriteBuffers(v [][]byte) (int64, error) {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	var total int64
	for _, b := range v {
		n, err := f.writeLocked(b)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// CloseRead implements Flow.CloseRead.
func (f *funcFlow) CloseRead() error {
	f.rmu.Lock()
	defer f.rmu.Unlock()
	if f.rerr == nil {
		f.rerr = io.EOF
	}
	return nil
}

// CloseWrite implements Flow.CloseWrite.
func (f *funcFlow) CloseWrite() error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	if f.werr == nil {
		f.werr = ErrClosed
	}
	return nil
}

// Close implements net.Conn.Close. It is idempotent.
func (f *funcFlow) Close() error {
	f.closed.Store(true)
	return nil
}

// LocalAddr implements net.Conn.LocalAddr.
func (f *funcFlow) LocalAddr() net.Addr { return Addr{Name: "func-local"} }

// RemoteAddr implements net.Conn.RemoteAddr.
func (f *funcFlow) RemoteAddr() net.Addr { return Addr{Name: "func-remote"} }

// SetDeadline implements net.Conn.SetDeadline.
func (f *funcFlow) SetDeadline(t time.Time) error {
	f.rdl.Set(t)
	f.wdl.Set(t)
	return nil
}

// SetReadDeadline implements net.Conn.SetReadDeadline.
func (f *funcFlow) SetReadDeadline(t time.Time) error { f.rdl.Set(t); return nil }

// SetWriteDeadline implements net.Conn.SetWriteDeadline.
func (f *funcFlow) SetWriteDeadline(t time.Time) error { f.wdl.Set(t); return nil }
