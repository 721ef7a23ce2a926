package flow

import (
	"context"
	"fmt"
	"sync"

	"github.com/mirago/mirago/stack/tcp"
)

// Counter is a flow that wraps another only to count the bytes written
// to it (a metric). Proxy looks through it (Unwrap) to splice two TCP
// connections, and then tells it of the bytes it moves to the wrapped
// flow (Count) instead of calling its Write. Count is called with the
// stack's lock held: it must only count (atomic adds).
type Counter interface {
	Flow
	// Unwrap returns the wrapped flow.
	Unwrap() Flow
	// Count is told of n bytes written to the wrapped flow without
	// Write.
	Count(n int)
}

// spliceEnd returns the TCP connection under f (through a Counter) and
// the Counter's Count, or nil if f is not one.
func spliceEnd(f Flow) (*tcp.Conn, func(int)) {
	var count func(int)
	if c, ok := f.(Counter); ok {
		f, count = c.Unwrap(), c.Count
	}
	tc, _ := f.(*tcp.Conn)
	return tc, count
}

// proxySplice is Proxy for two connections of one stack: the stack moves
// the data itself (tcp.SpliceConns), under its lock, as it arrives,
// without a goroutine woken or a buffer copied through per chunk; Proxy
// waits for the end and closes both ends as when copying. It reports
// false, having done nothing, when the connections cannot be spliced.
func proxySplice(ctx context.Context, a, b Flow, o Options) (Result, error, bool) {
	ta, countA := spliceEnd(a)
	tb, countB := spliceEnd(b)
	if ta == nil || tb == nil || o.Verbose {
		return Result{}, nil, false
	}
	// Direction 0 writes to b, direction 1 to a.
	sp, err := tcp.SpliceConns(ta, tb, [2]func(int){countB, countA})
	if err != nil {
		return Result{}, nil, false
	}
	var st tcp.SpliceStatus
	closeBoth := sync.OnceFunc(func() {
		st = sp.Stop()
		// As when copying: an end is aborted if data for it was still
		// waiting (a write in progress), or if the other end was reset.
		end(a, st.Pending[1] || st.SrcReset[1] || st.DstReset[0])
		end(b, st.Pending[0] || st.SrcReset[0] || st.DstReset[1])
	})
	w := newWatchQuiet(ctx, o.IdleTimeout, closeBoth, sp.Idle)
	<-sp.Done()
	reason := w.stop()
	closeBoth()
	res := Result{
		AToB: st.Bytes[0], BToA: st.Bytes[1],
		AReset: st.SrcReset[0] || st.DstReset[1],
		BReset: st.SrcReset[1] || st.DstReset[0],
	}
	var errs [2]error
	var first error
	dirs := [2]string{"a->b", "b->a"}
	for i, dir := range dirs {
		switch {
		case st.Err[i] != nil && st.ErrAtDst[i] && st.Pending[i]:
			errs[i] = fmt.Errorf("flow: %s: write: %w", dir, st.Err[i])
		case st.Err[i] != nil && st.ErrAtDst[i]:
			errs[i] = fmt.Errorf("flow: %s: close write: %w", dir, st.Err[i])
		case st.Err[i] != nil:
			errs[i] = fmt.Errorf("flow: %s: read: %w", dir, st.Err[i])
		}
		if first == nil {
			first = errs[i]
		}
	}
	for i, dir := range dirs {
		if first == nil && !st.EOF[i] && reason == nil {
			// Closed under the splice by someone else: a copy's read
			// would have failed so.
			errs[i] = fmt.Errorf("flow: %s: read: %w", dir, tcp.ErrClosed)
			first = errs[i]
		}
		if o.Logger != nil {
			o.Logger.Debug("flow: copy done", "dir", dir, "bytes", st.Bytes[i], "err", errs[i], "spliced", true)
		}
	}
	if reason != nil && !(st.EOF[0] && st.EOF[1]) {
		// The watch cut the splice (idle timeout, ctx): as when
		// copying, where the closed ends fail the copies.
		return res, reason, true
	}
	return res, first, true
}
