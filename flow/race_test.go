//go:build race

package flow_test

// raceEnabled: the race detector makes sync.Pool drop items at random.
const raceEnabled = true
