// Package pcap records Ethernet frames in the classic libpcap file format
// (https://www.tcpdump.org/manpages/pcap-savefile.5.html), readable by
// tcpdump and Wireshark, and reads such files back for tests.
//
// Wrap puts a capture in front of any netif.Device; Writer can also be used
// on its own.
package pcap

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mirago/mirago/stack/pkt"
)

// File format constants.
const (
	MagicMicro       = 0xa1b2c3d4 // timestamps in microseconds
	MagicNano        = 0xa1b23c4d // timestamps in nanoseconds
	LinkTypeEthernet = 1
	SnapLen          = 65535
	fileHeaderLen    = 24
	recordHeaderLen  = 16
)

// Writer writes pcap records. It is safe for concurrent use, so the receive
// goroutine and the transmit path of a device can share one.
type Writer struct {
	mu   sync.Mutex
	bw   *bufio.Writer
	c    io.Closer // closed by Close; nil when the caller owns the stream
	nano bool
	snap int                   // bytes captured per frame
	hdr  [recordHeaderLen]byte // scratch, reused so that a record costs no allocation
	err  error                 // first write error; sticky
}

// Options configures a Writer.
type Options struct {
	// Nanosecond selects nanosecond timestamps (magic 0xa1b23c4d) instead of
	// microseconds.
	Nanosecond bool
	// SnapLen caps the bytes captured per frame, like tcpdump -s; 0 means
	// SnapLen (65535). Headers-only captures of bulk transfers use ~128.
	SnapLen int
}

// NewWriter writes the file header to w and returns a Writer. If w is an
// io.Closer, Close closes it.
func NewWriter(w io.Writer, opts Options) (*Writer, error) {
	snap := opts.SnapLen
	if snap <= 0 || snap > SnapLen {
		snap = SnapLen
	}
	pw := &Writer{bw: bufio.NewWriterSize(w, 64<<10), nano: opts.Nanosecond, snap: snap}
	if c, ok := w.(io.Closer); ok {
		pw.c = c
	}
	var h [fileHeaderLen]byte
	magic := uint32(MagicMicro)
	if opts.Nanosecond {
		magic = MagicNano
	}
	le := binary.LittleEndian
	le.PutUint32(h[0:], magic)
	le.PutUint16(h[4:], 2) // version 2.4
	le.PutUint16(h[6:], 4)
	// h[8:16]: thiszone and sigfigs, always zero.
	le.PutUint32(h[16:], uint32(snap))
	le.PutUint32(h[20:], LinkTypeEthernet)
	if _, err := pw.bw.Write(h[:]); err != nil {
		return nil, err
	}
	return pw, nil
}

// Create creates (truncates) the file at path and returns a Writer on it.
func Create(path string, opts Options) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w, err := NewWriter(f, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// WriteFrame records one frame captured at t.
func (w *Writer) WriteFrame(t time.Time, frame []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.header(t, len(frame))
	w.write(frame[:min(len(frame), w.snap)])
	return w.err
}

// WriteBuf records the whole of b (contiguous bytes and attachments) as one
// frame captured at t, without flattening it.
func (w *Writer) WriteBuf(t time.Time, b *pkt.Buf) error { return w.writeBuf(t, b, 0) }

// writeBuf records b without its first skip bytes.
func (w *Writer) writeBuf(t time.Time, b *pkt.Buf, skip int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	skip = max(0, min(skip, len(b.Bytes())))
	left := w.header(t, b.Len()-skip)
	left = w.writeUpTo(b.Bytes()[skip:], left)
	for _, p := range b.Attached() {
		left = w.writeUpTo(p, left)
	}
	return w.err
}

// header writes a record header and returns how many bytes to capture.
func (w *Writer) header(t time.Time, n int) int {
	incl := min(n, w.snap)
	sub := uint32(t.Nanosecond() / 1000)
	if w.nano {
		sub = uint32(t.Nanosecond())
	}
	le := binary.LittleEndian
	le.PutUint32(w.hdr[0:], uint32(t.Unix()))
	le.PutUint32(w.hdr[4:], sub)
	le.PutUint32(w.hdr[8:], uint32(incl))
	le.PutUint32(w.hdr[12:], uint32(n))
	w.write(w.hdr[:])
	return incl
}

func (w *Writer) writeUpTo(p []byte, left int) int {
	if len(p) > left {
		p = p[:left]
	}
	w.write(p)
	return left - len(p)
}

func (w *Writer) write(p []byte) {
	if w.err != nil {
		return
	}
	_, w.err = w.bw.Write(p)
}

// Err returns the first error met while writing, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Flush writes buffered records to the underlying writer.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.err
}

// Close flushes and, if the Writer was given an io.Closer (or made by
// Create), closes it.
func (w *Writer) Close() error {
	err := w.Flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.c != nil {
		if cerr := w.c.Close(); err == nil {
			err = cerr
		}
		w.c = nil
	}
	return err
}
