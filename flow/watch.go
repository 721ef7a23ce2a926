package flow

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// watch aborts a copy when ctx ends or when no byte moved for idle. It
// uses context.AfterFunc and one timer per copy, which re-arms itself
// instead of being reset on every read; no goroutine waits while nothing
// happens.
type watch struct {
	mu      sync.Mutex
	stopped bool
	reason  error // why abort ran; nil if it did not
	abort   func()

	start   time.Time
	last    atomic.Int64 // time.Since(start) at the last activity
	idle    time.Duration
	timer   *time.Timer
	stopCtx func() bool
	// quiet, if set, says how long the bytes have not moved where touch
	// does not see them (a splice in the stack).
	quiet func() time.Duration
}

// newWatch calls abort at most once: when ctx ends, or after idle (if
// positive) without a touch.
func newWatch(ctx context.Context, idle time.Duration, abort func()) *watch {
	return newWatchQuiet(ctx, idle, abort, nil)
}

// newWatchQuiet is newWatch with the watch's quiet function.
func newWatchQuiet(ctx context.Context, idle time.Duration, abort func(), quiet func() time.Duration) *watch {
	w := &watch{abort: abort, start: time.Now(), idle: idle, quiet: quiet}
	if idle > 0 {
		w.mu.Lock() // checkIdle may run before AfterFunc returns
		w.timer = time.AfterFunc(idle, w.checkIdle)
		w.mu.Unlock()
	}
	w.stopCtx = context.AfterFunc(ctx, func() { w.fire(ctx.Err()) })
	return w
}

// touch records activity.
func (w *watch) touch() { w.last.Store(int64(time.Since(w.start))) }

func (w *watch) checkIdle() {
	quiet := time.Since(w.start) - time.Duration(w.last.Load())
	if w.quiet != nil {
		quiet = min(quiet, w.quiet())
	}
	if quiet >= w.idle {
		w.fire(ErrIdleTimeout)
		return
	}
	w.mu.Lock()
	if !w.stopped && w.reason == nil {
		w.timer.Reset(w.idle - quiet)
	}
	w.mu.Unlock()
}

func (w *watch) fire(reason error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.reason != nil {
		return
	}
	w.reason = reason
	w.abort()
}

// stop disarms the watch; after it returns abort will not run. It returns
// the reason abort ran, or nil.
func (w *watch) stop() error {
	w.mu.Lock()
	w.stopped = true
	reason := w.reason
	w.mu.Unlock()
	w.stopCtx()
	if w.timer != nil {
		w.timer.Stop()
	}
	return reason
}
