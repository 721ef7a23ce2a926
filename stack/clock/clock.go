// Package clock injects time into the stack, so that every protocol timer
// (RTO, TIME_WAIT, ARP aging, reassembly timeout) runs on the real clock in
// production and on a virtual clock in tests.
package clock

import "time"

// Clock tells the time and runs functions later.
type Clock interface {
	// Now returns the current time. Only differences between values matter.
	Now() time.Time
	// AfterFunc calls f in its own goroutine (Real) or in the goroutine that
	// advances time (Virtual) once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call; it reports whether the call was pending.
	Stop() bool
	// Reset makes the call happen d from now; it reports whether the call
	// was pending.
	Reset(d time.Duration) bool
}

// Real is the system clock.
type Real struct{}

// Now implements Clock.
func (Real) Now() time.Time { return time.Now() }

// AfterFunc implements Clock.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
