// The slew of the runtime's clock, in counts (host-testable; clock.go).

package qemuvirt

import "time"

// countsPerSlewNs: at 16 ns a count, 500 ppm is 1 ns every 125 counts.
const countsPerSlewNs = 125

// slewState makes the clock run 1/2000 fast (sign +1) or slow (-1)
// between counts from and to; the zero value is no slew.
type slewState struct {
	sign     int64
	from, to int64
}

// extra is the slew applied at count c (ns): 0 before from, growing by
// 1 ns every 125 counts, the whole amount from to on. Not inlined, so
// that nanotime, which calls it only while slewing, stays small.
//
//go:noinline
func (s *slewState) extra(c int64) int64 {
	if s.sign == 0 || c <= s.from {
		return 0
	}
	return s.sign * ((min(c, s.to) - s.from) / countsPerSlewNs)
}

// start begins a slew of d at count c, returning what the previous one
// had applied by then, for the caller to fold into the clock's offset.
func (s *slewState) start(c int64, d time.Duration) (applied int64) {
	applied = s.extra(c)
	*s = slewState{from: c, to: c}
	switch {
	case d > 0:
		s.sign, s.to = 1, c+int64(d)*countsPerSlewNs
	case d < 0:
		s.sign, s.to = -1, c-int64(d)*countsPerSlewNs
	}
	return applied
}

// pending is what the slew has still to apply at count c.
func (s *slewState) pending(c int64) time.Duration {
	return time.Duration(s.sign*((s.to-s.from)/countsPerSlewNs) - s.extra(c))
}
