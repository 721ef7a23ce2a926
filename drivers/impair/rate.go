package impair

import "time"

// take charges n bytes to the token bucket and returns how long the frame
// must wait for its tokens; ok is false when the queue has no room for it.
func (p *path) take(now time.Time, n int) (wait time.Duration, ok bool) {
	rate := float64(p.spec.Rate)
	p.tokens = min(p.burst, p.tokens+rate*now.Sub(p.tokTime).Seconds())
	p.tokTime = now
	bits := float64(n * 8)
	if p.tokens < bits {
		if p.n >= len(p.bufs) {
			return 0, false
		}
		wait = time.Duration((bits - p.tokens) / rate * float64(time.Second))
	}
	p.tokens -= bits
	return wait, true
}
