//go:build !race

package require

// RaceEnabled reports whether the race detector is on.
const RaceEnabled = false
