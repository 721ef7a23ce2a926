package require

import "testing"

// NoRace skips t under the race detector, saying why (why: what the race
// detector disturbs, e.g. "sync.Pool drops items at random"). Such tests
// are not lost: `make norace` runs them without -race, and `make test`
// runs make norace. TestNoRaceCovered checks that the norace target's
// -run pattern covers every test that calls NoRace, so call it directly
// in the test function.
func NoRace(t testing.TB, why string) {
	t.Helper()
	if RaceEnabled {
		t.Skipf("skipping under the race detector (%s); make norace runs it", why)
	}
}

// FullSize returns full, or underRace under the race detector, for a test
// whose volume is part of what it proves (100 MiB through the stack, say)
// and which the race detector would slow tenfold: under -race it still
// runs, smaller, and make norace runs it again at full size.
// TestNoRaceCovered checks that, so call it directly in the test
// function.
func FullSize(t testing.TB, full, underRace int64) int64 {
	t.Helper()
	if RaceEnabled {
		t.Logf("under the race detector: %d bytes instead of %d (make norace runs the full size)", underRace, full)
		return underRace
	}
	return full
}
