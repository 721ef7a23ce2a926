package ndp

import (
	"time"

	"github.com/mirago/mirago/stack/ipv6"
)

// autoconf applies a Prefix Information option with the A flag (RFC 4862
// §5.5.3): a new /64 gets an address with a stable identifier (RFC
// 7217); an address already formed from it has its lifetimes updated,
// the valid one under rule (e)'s two-hour floor, so that a forged
// advertisement cannot make it expire sooner.
func (l *Layer) autoconf(pi PrefixInfo) {
	valid, pref := pi.ValidLifetime(), pi.PreferredLifetime()
	switch {
	case l.cfg.DisableSLAAC || !pi.Autonomous():
		return
	case pi.Prefix().IsLinkLocalUnicast(): // (b)
		l.stats.SLAACIgnored++
		return
	case pref > valid: // (c)
		l.stats.SLAACIgnored++
		return
	case pi.PrefixLen() != 64:
		// The prefix and a 64-bit Ethernet identifier must make 128
		// bits (RFC 4862 §5.5.3 (d), RFC 2464 §4).
		l.stats.SLAACIgnored++
		return
	}
	p16 := pi.Prefix().As16()
	p := [8]byte(p16[:8])
	now := l.q.Now()
	k := l.findSLAAC(p)
	if k < 0 {
		if valid == 0 {
			return
		}
		if k = l.addrs.free(); k < 0 {
			l.stats.AddrRefused++
			return
		}
		iid, c := l.stableIID(p, 0)
		a := withIID(p, iid)
		if l.addrs.find(a) >= 0 {
			return
		}
		l.addrs.a[k] = ownAddr{used: true, addr: a, bits: 64, kind: KindSLAAC, prefix: p, counter: c,
			preferredUntil: until(now, pref), validUntil: until(now, valid), t: l.addrs.a[k].t}
		l.stats.SLAACAddrs++
		l.startAddr(k, 0)
		l.changed()
		return
	}
	a := &l.addrs.a[k]
	a.preferredUntil = until(now, pref)
	// (e): the valid lifetime.
	adv := until(now, valid)
	remaining := a.validUntil // zero: forever
	switch {
	case valid == Infinity || time.Duration(valid)*time.Second > twoHours ||
		!remaining.IsZero() && adv.After(remaining):
		a.validUntil = adv
	case !remaining.IsZero() && remaining.Sub(now) <= twoHours:
		// Ignore: a valid lifetime is never shortened below two hours.
		l.stats.ValidLifetimeKept++
	default:
		a.validUntil = now.Add(twoHours)
		l.stats.ValidLifetimeKept++
	}
	switch a.phase {
	case phaseDeprecated:
		if a.preferredUntil.IsZero() || a.preferredUntil.After(now) {
			a.phase = phasePreferred
			l.ip.SetAddrStateLocked(a.addr, ipv6.StatePreferred)
			l.changed()
		}
		l.checkLifetimes(k, now)
	case phasePreferred:
		l.checkLifetimes(k, now)
	case phaseDuplicate:
		if !a.validUntil.IsZero() {
			l.q.Schedule(&a.t, a.validUntil)
		} else {
			l.q.Stop(&a.t)
		}
	}
}

// findSLAAC returns the slot of the address formed from the /64 p, or -1.
func (l *Layer) findSLAAC(p [8]byte) int {
	for k := range l.addrs.a {
		if a := &l.addrs.a[k]; a.used && a.kind == KindSLAAC && a.prefix == p {
			return k
		}
	}
	return -1
}
