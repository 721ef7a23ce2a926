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
