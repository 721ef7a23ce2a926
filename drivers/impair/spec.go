// Package impair is fault-injection middleware: it wraps any netif.Device
// (the TAP, a memlink port) and loses, duplicates, reorders, corrupts,
// delays and rate-limits frames in either or both directions.
//
// The host has no tc netem, so this is how tests and the -impair flag make a
// bad link. Every decision comes from a PCG generator seeded by Spec.Seed,
// one per direction, so a run is reproduced by its seed and its input.
// Time comes from an injected clock.Clock: tests run in virtual time.
package impair

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Direction selects which way frames are impaired.
type Direction uint8

// Directions.
const (
	Both Direction = iota // transmitted and received frames
	Tx                    // transmitted frames only
	Rx                    // received frames only
)

// Defaults for Spec fields left zero.
const (
	DefaultLimit       = 256
	DefaultReorderHold = 10 * time.Millisecond
)

// Spec describes the faults to inject. The zero value injects nothing.
type Spec struct {
	Loss    float64 // probability that a frame is lost
	Dup     float64 // probability that a frame is sent twice (exact copies)
	Reorder float64 // probability that a frame is held back and overtaken by the next one
	Corrupt float64 // probability that one random bit of a frame is flipped

	Delay  time.Duration // fixed one-way delay
	Jitter time.Duration // delay varies uniformly in [Delay-Jitter, Delay+Jitter]; order is kept

	// ReorderHold is the longest a frame held for reordering waits for a
	// frame to overtake it (default 10ms).
	ReorderHold time.Duration

	Rate  uint64 // bits per second through a token bucket; 0 means unlimited
	Burst int    // token bucket size in bytes (default 10ms at Rate, at least one full frame)

	Limit int       // frames each direction may hold (delay, rate queue); default 256
	Seed  uint64    // seeds the generators
	Dir   Direction // which directions Wrap impairs
}

// active reports whether s injects anything.
func (s Spec) active() bool {
	return s.Loss > 0 || s.Dup > 0 || s.Reorder > 0 || s.Corrupt > 0 ||
		s.Delay > 0 || s.Jitter > 0 || s.Rate > 0
}

// ParseSpec parses the -impair syntax: comma-separated key=value pairs,
// for example "loss=0.05,reorder=0.05,dup=0.01,corrupt=0.001,delay=5ms,seed=1".
//
// Keys: loss, dup, reorder, corrupt (probabilities in [0,1], or percentages
// such as 5%); delay, jitter, hold (Go durations: 5ms, 1.5s); rate (bits per
// second, with an optional k, m or g prefix and an optional bit or bps unit:
// 10mbit); burst, limit (integers); seed (unsigned integer); dir (tx, rx or
// both). An empty string is the zero Spec.
func ParseSpec(s string) (Spec, error) {
	var sp Spec
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return Spec{}, fmt.Errorf("impair: %q is not key=value", kv)
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		var err error
		switch k {
		case "loss":
			sp.Loss, err = parseProb(v)
		case "dup", "duplicate":
			sp.Dup, err = parseProb(v)
		case "reorder":
			sp.Reorder, err = parseProb(v)
		case "corrupt":
			sp.Corrupt, err = parseProb(v)
		case "delay":
			sp.Delay, err = parseDuration(v)
		case "jitter":
			sp.Jitter, err = parseDuration(v)
		case "hold":
			sp.ReorderHold, err = parseDuration(v)
		case "rate":
			sp.Rate, err = parseRate(v)
		case "burst":
			sp.Burst, err = parseCount(v)
		case "limit":
			sp.Limit, err = parseCount(v)
		case "seed":
			sp.Seed, err = strconv.ParseUint(v, 10, 64)
		case "dir":
			sp.Dir, err = parseDir(v)
		default:
			return Spec{}, fmt.Errorf("impair: unknown key %q (want loss, dup, reorder, corrupt, delay, jitter, hold, rate, burst, limit, seed or dir)", k)
		}
		if err != nil {
			return Spec{}, fmt.Errorf("impair: %s=%s: %w", k, v, err)
		}
	}
	return sp, nil
}

func parseProb(v string) (float64, error) {
	scale := 1.0
	if p, ok := strings.CutSuffix(v, "%"); ok {
		v, scale = p, 100
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("not a number")
	}
	f /= scale
	if !(f >= 0 && f <= 1) { // also rejects NaN
		return 0, fmt.Errorf("probability outside [0,1]")
	}
	return f, nil
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("bad duration (want e.g. 5ms)")
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration")
	}
	return d, nil
}

func parseCount(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a non-negative integer")
	}
	return n, nil
}

func parseRate(v string) (uint64, error) {
	s := strings.ToLower(v)
	for _, unit := range []string{"bps", "bit"} {
		if p, ok := strings.CutSuffix(s, unit); ok {
			s = p
			break
		}
	}
	mult := 1.0
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k':
			mult, s = 1e3, s[:n-1]
		case 'm':
			mult, s = 1e6, s[:n-1]
		case 'g':
			mult, s = 1e9, s[:n-1]
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= 0) || f*mult > 1e15 {
		return 0, fmt.Errorf("bad rate (want bits per second, e.g. 10mbit)")
	}
	return uint64(f * mult), nil
}

func parseDir(v string) (Direction, error) {
	switch strings.ToLower(v) {
	case "both", "":
		return Both, nil
	case "tx":
		return Tx, nil
	case "rx":
		return Rx, nil
	}
	return 0, fmt.Errorf("want tx, rx or both")
}
