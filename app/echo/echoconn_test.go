package main

import (
	"bytes"
	"io"
	"slices"
	"sync/atomic"
	"testing"
)

// scriptConn serves its reads from chunks, one chunk per Read, and
// records the size of each buffer it was handed.
type scriptConn struct {
	chunks   [][]byte
	bufSizes []int
	out      bytes.Buffer
	halfShut bool
	closed   bool
}

func (c *scriptConn) Read(p []byte) (int, error) {
	c.bufSizes = append(c.bufSizes, len(p))
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

func (c *scriptConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *scriptConn) CloseWrite() error           { c.halfShut = true; return nil }
func (c *scriptConn) Close() error                { c.closed = true; return nil }

// TestEchoConnBuffers: reads start with the small buffer, switch to the
// large one when a read fills the small one, and go back to the small one
// after a short read; everything read is written back, in order.
func TestEchoConnBuffers(t *testing.T) {
	bulk := bytes.Repeat([]byte("0123456789abcdef"), (3*largeReadBuf+100)/16)
	c := &scriptConn{chunks: [][]byte{[]byte("hi"), bulk, []byte("bye")}}
	var total atomic.Uint64
	n, err := echoConn(c, &total)
	want := append(append([]byte("hi"), bulk...), "bye"...)
	if err != nil || n != int64(len(want)) || total.Load() != uint64(len(want)) || !bytes.Equal(c.out.Bytes(), want) {
		t.Fatalf("echoConn = %d, %v (total %d); echoed %d bytes, want %d", n, err, total.Load(), c.out.Len(), len(want))
	}
	if !c.halfShut || !c.closed {
		t.Errorf("half-closed %v, closed %v; want both", c.halfShut, c.closed)
	}
	// "hi" (small), bulk: small filled, then large reads, the last one
	// short; "bye" with the small buffer again; EOF.
	s, l := smallReadBuf, largeReadBuf
	wantSizes := []int{s, s}
	for range (len(bulk) - s + l - 1) / l {
		wantSizes = append(wantSizes, l)
	}
	wantSizes = append(wantSizes, s, s)
	if !slices.Equal(c.bufSizes, wantSizes) {
		t.Errorf("read buffer sizes %v, want %v", c.bufSizes, wantSizes)
	}
}
