package impair

import "time"

// arm points the one timer at the next release.
func (p *path) arm(now time.Time) {
	var next time.Time
	ok := false
	if p.n > 0 {
		next, ok = p.due[p.head], true
	}
	if p.reoHeld && (!ok || p.reoDue.Before(next)) {
		next, ok = p.reoDue, true
	}
	if !ok || (p.armed && p.armedAt.Equal(next)) {
		return
	}
	p.armed, p.armedAt = true, next
	if p.timer == nil {
		p.timer = p.clk.AfterFunc(next.Sub(now), p.fire)
	} else {
		p.timer.Reset(next.Sub(now))
	}
}

// fire releases every frame that is due.
func (p *path) fire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = false
	if p.closed {
		return
	}
	now := p.clk.Now()
	p.fireDue(now)
	if p.reoHeld && !p.reoDue.After(now) {
		// Nothing overtook the held frame in time: send it on its own.
		due := now
		if p.lastDue.After(due) {
			due = p.lastDue
		}
		p.releaseReorder(due, now)
		p.fireDue(now)
	}
	p.arm(now)
}

// fireDue emits the queued frames that are due.
func (p *path) fireDue(now time.Time) {
	for p.n > 0 && !p.due[p.head].After(now) {
		b, meta := p.bufs[p.head], p.metas[p.head]
		p.head = (p.head + 1) % len(p.bufs)
		p.n--
		p.out(b, nil, meta) // the slot cannot be refilled before out returns: we hold mu
	}
}

// close drops held frames and stops the timer.
func (p *path) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.n, p.reoHeld = 0, false
	if p.timer != nil {
		p.timer.Stop()
	}
}
