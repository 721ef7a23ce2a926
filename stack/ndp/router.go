package ndp

import (
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/timer"
)

// defRouter is an entry of the default router list (RFC 4861 §6.3.4).
type defRouter struct {
	used bool
	addr inet.Addr
	pref int // RFC 4191 preference: -1, 0, 1
	t    timer.Entry
}

type routerList struct {
	r     []defRouter
	n     int
	start int // where the next round-robin pick starts (§6.3.6)
}

func (t *routerList) init(l *Layer, n int) {
	t.r = make([]defRouter, n)
	for k := range t.r {
		t.r[k].t.Init(func(time.Time) { l.routerExpired(k) })
	}
}

func (t *routerList) find(a inet.Addr) int {
	for k := range t.r {
		if t.r[k].used && t.r[k].addr == a {
			return k
		}
	}
	return -1
}

// dropRouter takes a off the default router list, if it is there.
func (l *Layer) dropRouter(a inet.Addr) {
	if k := l.routers.find(a); k >= 0 {
		l.q.Stop(&l.routers.r[k].t)
		l.routerExpired(k)
	}
}

func (l *Layer) routerExpired(k int) {
	a := l.routers.r[k].addr
	l.routers.r[k].used = false
	l.routers.n--
	l.redirects.removeRouter(a, l)
	l.changed()
}

// updateRouter applies an advertisement's Router Lifetime (RFC 4861
// §6.3.4): a new router with a non-zero lifetime joins the list (if
// there is room), a known one gets the new lifetime and preference, and
// a zero lifetime takes it off.
func (l *Layer) updateRouter(a inet.Addr, lifetime uint16, pref int) {
	t := &l.routers
	k := t.find(a)
	if lifetime == 0 {
		l.dropRouter(a)
		return
	}
	if k < 0 {
		for j := range t.r {
			if !t.r[j].used {
				k = j
				break
			}
		}
		if k < 0 {
			l.stats.RoutersFull++
			return
		}
		t.r[k].used, t.r[k].addr = true, a
		t.n++
		l.changed()
	}
	t.r[k].pref = pref
	l.q.After(&t.r[k].t, time.Duration(lifetime)*time.Second)
}

// defaultRouter picks the default router (RFC 4861 §6.3.6, RFC 4191
// §3.2): reachable or probably reachable routers first, then the higher
// preference; when none is known to be reachable, the routers take
// turns, so that each is tried before any is tried again.
func (l *Layer) defaultRouter() (inet.Addr, bool) {
	t := &l.routers
	if t.n == 0 {
		return inet.Addr{}, false
	}
	best, score := -1, -1
	for j := range t.r {
		k := (t.start + j) % len(t.r)
		r := &t.r[k]
		if !r.used {
			continue
		}
		s := r.pref + 1
		if l.reachableOrProbably(r.addr) {
			s += 4
		}
		if s > score {
			best, score = k, s
		}
	}
	if score < 4 {
		t.start = best + 1
	}
	return t.r[best].addr, true
}

// nextHop is next-hop determination (RFC 4861 §5.2) for the unicast
// dst: a redirect's target; dst itself when it is on-link (link-local,
// or in the prefix list); else the default router. With no router an
// off-link destination is unreachable (RFC 4943: it is not assumed
// on-link).
func (l *Layer) nextHop(dst inet.Addr) (inet.Addr, error) {
	if l.redirects.n > 0 {
		if t, ok := l.redirects.lookup(dst); ok {
			return t, nil
		}
	}
	if dst.IsLinkLocalUnicast() || l.prefixes.contains(dst) {
		return dst, nil
	}
	if r, ok := l.defaultRouter(); ok {
		return r, nil
	}
	return inet.Addr{}, ErrNoRoute
}

// Routers appends the default routers to dst.
func (l *Layer) Routers(dst []inet.Addr) []inet.Addr {
	for k := range l.routers.r {
		if r := &l.routers.r[k]; r.used {
			dst = append(dst, r.addr)
		}
	}
	return dst
}

// solicitor sends the router solicitations of RFC 4861 §6.3.7.
type solicitor struct {
	t    timer.Entry
	sent int
	done bool // an advertisement came, or all were sent
}

// startSolicit sends the first router solicitation, unless router
// discovery is off or already under way. The random delay RFC 4861
// §6.3.7 asks for came before DAD.
func (l *Layer) startSolicit() {
	if l.cfg.DisableRouterDiscovery || l.rs.done || l.rs.sent > 0 {
		return
	}
	l.onSolicit(l.q.Now())
}

func (l *Layer) onSolicit(now time.Time) {
	if l.rs.done {
		return
	}
	l.solicitRouters()
	l.rs.sent++
	if l.rs.sent >= MaxRtrSolicitations {
		l.rs.done = true
		return
	}
	l.q.Schedule(&l.rs.t, now.Add(RtrSolicitationInterval))
}

// stopSolicit ends router solicitation: an advertisement came.
func (l *Layer) stopSolicit() {
	l.rs.done = true
	l.q.Stop(&l.rs.t)
}
