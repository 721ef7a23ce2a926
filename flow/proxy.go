package flow

import (
	"context"
	"sync"
)

// Result counts the bytes a Proxy moved each way and says how its ends
// were reset.
type Result struct {
	// AToB is the number of bytes read from a and written to b.
	AToB int64
	// BToA is the number of bytes read from b and written to a.
	BToA int64
	// AReset says a was reset by its peer: a read, write or close-write
	// on a met a reset (IsReset). b was then aborted (Abort).
	AReset bool
	// BReset says the same of b; a was then aborted.
	BReset bool
}

// Proxy copies a to b and b to a until both directions have ended, or
// either fails, then closes both flows (seed 003's Proxy). EOF on one side
// becomes CloseWrite on the other, so half-closed connections keep working
// in the other direction.
//
// A reset is passed on as a reset, whichever call meets it: when a read,
// write or close-write on one end fails with a reset (IsReset), the other
// end is aborted (Abort: a TCP RST), so a truncated stream never looks
// complete to its reader. For the same reason an end that Proxy cuts in
// the middle of a write to it (idle timeout, ctx, or the other direction's
// failure) is aborted too. Every other end is closed (a FIN after the
// data).
//
// It returns the first error of either direction; an error caused by the
// other direction's failure is not reported. When ctx ends, or
// o.IdleTimeout passes with no byte moved either way, Proxy closes both
// flows and returns ctx.Err() or ErrIdleTimeout. Proxy runs one goroutine
// besides the caller's, and it has ended when Proxy returns.
func Proxy(ctx context.Context, a, b Flow, o Options) (Result, error) {
	if res, err, ok := proxySplice(ctx, a, b, o); ok {
		return res, err
	}
	// ab copies a to b, ba b to a; each notes which end met a reset and
	// whether a write is in progress.
	var ab, ba half
	closeBoth := sync.OnceFunc(func() {
		// An end is aborted if a write to it is in progress, or if
		// the other end met a reset.
		end(a, ba.writing.Load() || ba.srcReset.Load() || ab.dstReset.Load())
		end(b, ab.writing.Load() || ab.srcReset.Load() || ba.dstReset.Load())
	})
	w := newWatch(ctx, o.IdleTimeout, closeBoth)

	var (
		mu    sync.Mutex
		first error
		res   Result
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
		closeBoth()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, err := copyHalf(ctx, a, b, w, o, "b->a", &ba)
		res.BToA = n
		if err != nil {
			fail(err)
		}
	}()
	n, err := copyHalf(ctx, b, a, w, o, "a->b", &ab)
	res.AToB = n
	if err != nil {
		fail(err)
	}
	<-done
	reason := w.stop()
	closeBoth()
	res.AReset = ab.srcReset.Load() || ba.dstReset.Load()
	res.BReset = ba.srcReset.Load() || ab.dstReset.Load()
	if reason != nil && first != nil {
		return res, reason
	}
	return res, first
}

// end closes f, or aborts it if abort is set.
func end(f Flow, abort bool) {
	if abort {
		Abort(f)
		return
	}
	f.Close()
}
