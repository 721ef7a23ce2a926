package flow

import (
	"context"
	"sync"
)

// Result counts the bytes a Proxy moved each way.
type Result struct {
	// AToB is the number of bytes read from a and written to b.
	AToB int64
	// BToA is the number of bytes read from b and written to a.
	BToA int64
}

// Proxy copies a to b and b to a until both directions have ended, or
// either fails, then closes both flows (seed 003's Proxy). EOF on one side
// becomes CloseWrite on the other, so half-closed connections keep working
// in the other direction.
//
// It returns the first error of either direction; an error caused by the
// other direction's failure is not reported. When ctx ends, or
// o.IdleTimeout passes with no byte moved either way, Proxy closes both
// flows and returns ctx.Err() or ErrIdleTimeout. Proxy runs one goroutine
// besides the caller's, and it has ended when Proxy returns.
func Proxy(ctx context.Context, a, b Flow, o Options) (Result, error) {
	closeBoth := sync.OnceFunc(func() {
		a.Close()
		b.Close()
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
		n, err := copyHalf(ctx, a, b, w, o, "b->a")
		res.BToA = n
		if err != nil {
			fail(err)
		}
	}()
	n, err := copyHalf(ctx, b, a, w, o, "a->b")
	res.AToB = n
	if err != nil {
		fail(err)
	}
	<-done
	reason := w.stop()
	closeBoth()
	if reason != nil && first != nil {
		return res, reason
	}
	return res, first
}
