package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/mirago/mirago/logging"
)

// Options configures Forward and Proxy. The zero value is ready to use.
type Options struct {
	// BufferSize is the copy buffer size, rounded up to a power of two
	// in [4 KiB, 1 MiB]; 0 means DefaultBufferSize. Buffers are pooled.
	BufferSize int
	// IdleTimeout, if positive, aborts the copy with ErrIdleTimeout when
	// no byte has been read or written, in either direction, for that
	// long.
	IdleTimeout time.Duration
	// Logger, if set, receives Debug records: the end of each direction
	// with its byte count and error.
	Logger logging.Logger
	// Verbose also logs the full contents copied, at Debug (seed 003's
	// forward ?verbose). Off by default.
	Verbose bool
}

// Forward copies src to dst until src reports io.EOF, then calls
// dst.CloseWrite, propagating the half-close (seed 003's forward). It
// returns the bytes written to dst. It does not close either flow: on an
// error the caller decides (IsReset tells a reset, which Proxy passes on
// with Abort).
//
// When ctx ends, or o.IdleTimeout passes with no byte moved, Forward sets a
// past read deadline on src and write deadline on dst to unblock the copy,
// and returns ctx.Err() or ErrIdleTimeout. Those deadlines stay set.
func Forward(ctx context.Context, dst, src Flow, o Options) (int64, error) {
	w := newWatch(ctx, o.IdleTimeout, func() {
		past := time.Unix(1, 0)
		src.SetReadDeadline(past)
		dst.SetWriteDeadline(past)
	})
	n, err := copyHalf(ctx, dst, src, w, o, "forward", nil)
	if reason := w.stop(); reason != nil && err != nil {
		err = reason
	}
	return n, err
}

// half is what Proxy learns from one direction's copy: whether the
// source or the destination met a reset, and whether a write to the
// destination is in progress (cutting it then truncates the stream).
type half struct {
	srcReset, dstReset atomic.Bool
	writing            atomic.Bool
}

// copyHalf copies src to dst until EOF, then closes dst for writing. It
// touches w on every read and write, and records resets and writes in h
// (if not nil).
func copyHalf(ctx context.Context, dst, src Flow, w *watch, o Options, dir string, h *half) (written int64, err error) {
	bp := getBuf(o.BufferSize)
	defer putBuf(bp)
	buf := bp.B
	log := o.Logger
	if log != nil {
		defer func() {
			log.Debug("flow: copy done", "dir", dir, "bytes", written, "err", err)
		}()
	}
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			w.touch()
			if log != nil && o.Verbose {
				log.Debug("flow: data", "dir", dir, "data", fmt.Sprintf("%q", buf[:n]))
			}
			if h != nil {
				h.writing.Store(true)
			}
			m, werr := dst.Write(buf[:n])
			written += int64(m)
			w.touch()
			if werr != nil {
				// h.writing stays set: the stream to dst is cut
				// mid-write, so Proxy aborts it.
				h.noteReset(true, werr)
				return written, fmt.Errorf("flow: %s: write: %w", dir, werr)
			}
			if h != nil {
				h.writing.Store(false)
			}
		}
		if errors.Is(rerr, io.EOF) {
			if cerr := dst.CloseWrite(); cerr != nil {
				h.noteReset(true, cerr)
				return written, fmt.Errorf("flow: %s: close write: %w", dir, cerr)
			}
			return written, nil
		}
		if rerr != nil {
			h.noteReset(false, rerr)
			return written, fmt.Errorf("flow: %s: read: %w", dir, rerr)
		}
	}
}

// noteReset records a reset met on the destination (atDst) or the
// source. h may be nil (Forward).
func (h *half) noteReset(atDst bool, err error) {
	switch {
	case h == nil || !IsReset(err):
	case atDst:
		h.dstReset.Store(true)
	default:
		h.srcReset.Store(true)
	}
}
