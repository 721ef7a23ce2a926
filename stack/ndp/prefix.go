package ndp

import (
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/timer"
)

// onLink is an entry of the prefix list (RFC 4861 §5.1): a prefix on
// our link, learned from an advertisement (until its valid lifetime
// ends) or from a static address (for good).
type onLink struct {
	used   bool
	p      inet.Prefix6 // masked
	static bool
	t      timer.Entry
}

type prefixList struct {
	p []onLink
	n int
}

func (t *prefixList) init(l *Layer, n int) {
	t.p = make([]onLink, n)
	for k := range t.p {
		t.p[k].t.Init(func(time.Time) { l.prefixes.removeAt(k, l) })
	}
}

// contains reports whether a is on-link by a prefix of the list.
func (t *prefixList) contains(a inet.Addr) bool {
	if t.n == 0 {
		return false
	}
	for k := range t.p {
		if t.p[k].used && t.p[k].p.Contains(a) {
			return true
		}
	}
	return false
}

func (t *prefixList) find(p inet.Prefix6, static bool) int {
	for k := range t.p {
		if t.p[k].used && t.p[k].p == p && t.p[k].static == static {
			return k
		}
	}
	return -1
}

func (t *prefixList) free() int {
	for k := range t.p {
		if !t.p[k].used {
			return k
		}
	}
	return -1
}

func (t *prefixList) removeAt(k int, l *Layer) {
	l.q.Stop(&t.p[k].t)
	t.p[k] = onLink{t: t.p[k].t}
	t.n--
}

// update applies a Prefix Information option with the L flag (RFC 4861
// §6.3.4): a new prefix is added with its valid lifetime, a known one
// gets the new lifetime, a zero lifetime removes it. The link-local
// prefix is always on-link and is ignored; so is a /0, which would put
// the whole Internet on our link.
func (l *Layer) updatePrefix(pi PrefixInfo) {
	if !pi.OnLink() {
		return
	}
	if pi.Prefix().IsLinkLocalUnicast() || pi.PrefixLen() == 0 || pi.PrefixLen() > 128 {
		l.stats.PrefixIgnored++
		return
	}
	t := &l.prefixes
	p := inet.Prefix6{Addr: pi.Prefix(), Bits: int(pi.PrefixLen())}.Masked()
	valid := pi.ValidLifetime()
	k := t.find(p, false)
	if k < 0 {
		if valid == 0 {
			return
		}
		if k = t.free(); k < 0 {
			l.stats.PrefixesFull++
			return
		}
		t.p[k].used, t.p[k].p = true, p
		t.n++
	} else if valid == 0 {
		t.removeAt(k, l)
		return
	}
	if valid == Infinity {
		l.q.Stop(&t.p[k].t)
	} else {
		l.q.After(&t.p[k].t, time.Duration(valid)*time.Second)
	}
}

// addStatic puts the prefix of a static address on-link.
func (t *prefixList) addStatic(p inet.Prefix6) {
	if t.find(p, true) >= 0 {
		return
	}
	if k := t.free(); k >= 0 {
		t.p[k].used, t.p[k].p, t.p[k].static = true, p, true
		t.n++
	}
}

// removeStatic takes back what addStatic added.
func (t *prefixList) removeStatic(p inet.Prefix6) {
	if k := t.find(p, true); k >= 0 {
		t.p[k] = onLink{t: t.p[k].t}
		t.n--
	}
}

// OnLinkPrefixes appends the prefix list to dst.
func (l *Layer) OnLinkPrefixes(dst []inet.Prefix6) []inet.Prefix6 {
	for k := range l.prefixes.p {
		if p := &l.prefixes.p[k]; p.used {
			dst = append(dst, p.p)
		}
	}
	return dst
}
