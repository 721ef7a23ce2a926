// Package ratelimit is the token bucket the ICMP layers (icmp, icmpv6)
// limit the errors they send with (RFC 1812 §4.3.2.8, RFC 4443 §2.4 (f)),
// on the stack's injected clock.
package ratelimit

import "time"

// Bucket holds up to Burst tokens and gains Rate per second. The zero
// value is unusable: call Init.
type Bucket struct {
	per    time.Duration // time for one token
	burst  int
	tokens int
	last   time.Time // time of the last refill
}

// Init fills the bucket: burst tokens (at least 1), rate per second (at
// least 1, at most 10^6, which keeps a token's time above zero), from
// now.
func (b *Bucket) Init(rate, burst int, now time.Time) {
	rate = min(max(rate, 1), 1_000_000)
	b.per, b.burst, b.tokens, b.last = time.Second/time.Duration(rate), max(burst, 1), max(burst, 1), now
}

// Allow takes a token if there is one at now.
func (b *Bucket) Allow(now time.Time) bool {
	if b.tokens < b.burst {
		if el := now.Sub(b.last); el >= b.per {
			n := int(el / b.per)
			b.tokens = min(b.burst, b.tokens+n)
			b.last = b.last.Add(time.Duration(n) * b.per)
		}
	} else {
		b.last = now
	}
	if b.tokens == 0 {
		return false
	}
	b.tokens--
	return true
}
