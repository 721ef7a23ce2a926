// Package flowtest is the semantics test suite that every flow.Flow
// implementation must pass (seeds 003 and 004), plus test helpers.
//
// Run it from a test of the implementation:
//
//	func TestConnSemantics(t *testing.T) {
//		flowtest.Run(t, func(t *testing.T) (a, b flow.Flow) { return dialPair(t) })
//	}
package flowtest

import (
	"runtime"
	"testing"
	"time"
)

// LeakWait bounds how long CheckGoroutines waits for goroutines to end.
var LeakWait = 5 * time.Second

// CheckGoroutines fails t if, when t's cleanups run, more goroutines exist
// than when CheckGoroutines was called. It polls runtime.NumGoroutine
// until the count drops back or LeakWait passes, then reports every stack.
// Call it first in a test, so its cleanup runs after the others; tests that
// use it must not run in parallel with other tests.
func CheckGoroutines(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(LeakWait)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d goroutines before, %d after %v:\n%s", before, n, LeakWait, buf)
				return
			}
			time.Sleep(5 * time.Millisecond) // bounded poll, not synchronisation
		}
	})
}
