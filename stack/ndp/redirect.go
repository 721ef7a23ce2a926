package ndp

import (
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/timer"
)

// redirect is a destination cache entry set by a Redirect (RFC 4861
// §8.3): packets to dest go to target instead of the first hop router
// that sent it.
type redirect struct {
	used                 bool
	dest, target, router inet.Addr
	t                    timer.Entry
}

type redirectList struct {
	r []redirect
	n int
}

func (t *redirectList) init(l *Layer, n int) {
	t.r = make([]redirect, n)
	for k := range t.r {
		t.r[k].t.Init(func(time.Time) { t.removeAt(k) })
	}
}

func (t *redirectList) removeAt(k int) {
	t.r[k].used = false
	t.n--
}

func (t *redirectList) lookup(dest inet.Addr) (inet.Addr, bool) {
	for k := range t.r {
		if t.r[k].used && t.r[k].dest == dest {
			return t.r[k].target, true
		}
	}
	return inet.Addr{}, false
}

// set records a redirect for dest, replacing an older one for it; when
// the list is full, the one closest to expiring goes.
func (l *Layer) setRedirect(dest, target, router inet.Addr) {
	t := &l.redirects
	k, free, soonest := -1, -1, -1
	for j := range t.r {
		r := &t.r[j]
		switch {
		case r.used && r.dest == dest:
			k = j
		case !r.used:
			if free < 0 {
				free = j
			}
		case soonest < 0 || l.q.When(&r.t).Before(l.q.When(&t.r[soonest].t)):
			soonest = j
		}
	}
	if k < 0 {
		if k = free; k < 0 {
			k = soonest
			l.stats.RedirectsReplaced++
		} else {
			t.n++
		}
	}
	r := &t.r[k]
	r.used, r.dest, r.target, r.router = true, dest, target, router
	l.q.After(&r.t, l.cfg.RedirectLifetime)
}

// removeRouter drops the redirects a router sent, when it leaves the
// default router list (RFC 4861 §6.3.5).
func (t *redirectList) removeRouter(a inet.Addr, l *Layer) {
	for k := range t.r {
		if t.r[k].used && t.r[k].router == a {
			l.q.Stop(&t.r[k].t)
			t.removeAt(k)
		}
	}
}
