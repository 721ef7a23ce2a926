//go:build !linux

package bench

import "errors"

// TAPUnavailable says why the TAP workload cannot run here.
func TAPUnavailable() string { return "needs Linux (TAP)" }

// TAPResult is the throughput between the Linux kernel and one stack.
type TAPResult struct {
	RecvGbps float64 // kernel -> stack sink
	SendGbps float64 // stack -> kernel sink
	Stats    RunStats
}

// TAPVariants: none here.
var TAPVariants = []Variant{}

// TAP is not available here.
func TAP(v Variant, sz Sizes) (TAPResult, error) {
	return TAPResult{}, errors.New("bench: TAP needs Linux")
}

// runGuestTAP is not available here.
func runGuestTAP(env GuestEnv, guest, image string, sz Sizes) (guestRun, error) {
	return guestRun{}, errors.New("bench: TAP needs Linux")
}
