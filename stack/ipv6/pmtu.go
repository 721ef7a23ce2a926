package ipv6

import (
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// The path MTU cache (RFC 8201): per destination, the MTU a Packet Too
// Big lowered, kept for PMTUTimeout after the last decrease (RFC 8201 §4:
// an increase is tried, by forgetting the entry, no sooner than 5 and
// recommended 10 minutes later). A bounded table; when it is full the
// entry that expires first makes room. Entries are expired lazily on
// lookup: no timer.

type pmtuEntry struct {
	dst     inet.Addr
	mtu     int
	expires int64 // UnixNano
}

type pmtuCache struct {
	e     []pmtuEntry
	count int
}

func (c *pmtuCache) init(n int) { c.e = make([]pmtuEntry, n) }

// lookup returns dst's path MTU, or 0 if none is known.
func (c *pmtuCache) lookup(dst inet.Addr, now time.Time) int {
	if c.count == 0 {
		return 0
	}
	for i := range c.e[:c.count] {
		if e := &c.e[i]; e.dst == dst {
			if now.UnixNano() >= e.expires {
				c.remove(i)
				return 0
			}
			return e.mtu
		}
	}
	return 0
}

func (c *pmtuCache) remove(i int) {
	c.count--
	c.e[i] = c.e[c.count]
	c.e[c.count] = pmtuEntry{}
}

// update lowers dst's path MTU to mtu (already within 1280..link MTU);
// it never raises it (RFC 8201 §4). It reports whether it changed.
func (c *pmtuCache) update(dst inet.Addr, mtu, linkMTU int, now time.Time, ttl time.Duration) bool {
	exp := now.Add(ttl).UnixNano()
	for i := range c.e[:c.count] {
		if e := &c.e[i]; e.dst == dst {
			if now.UnixNano() >= e.expires {
				e.mtu = linkMTU // expired: start again from the link's
			}
			if mtu >= e.mtu {
				return false
			}
			e.mtu, e.expires = mtu, exp
			return true
		}
	}
	if mtu >= linkMTU {
		return false
	}
	i := c.count
	if i == len(c.e) {
		i = 0
		for j := range c.e {
			if c.e[j].expires < c.e[i].expires {
				i = j
			}
		}
	} else {
		c.count++
	}
	c.e[i] = pmtuEntry{dst: dst, mtu: mtu, expires: exp}
	return true
}

// UpdatePMTULocked lowers the path MTU toward dst to mtu, as a Packet Too
// Big reported it: an MTU below 1280 is not taken (RFC 8201 §4: the
// icmpv6 layer ignores such messages), one above the link MTU is the
// link MTU, and a path MTU is never raised. It reports whether the path
// MTU changed.
func (l *Layer) UpdatePMTULocked(dst inet.Addr, mtu int) bool {
	if mtu < MinMTU || !dst.Is6() {
		return false
	}
	lm := l.LinkMTU()
	if l.pmtu.update(dst, min(mtu, lm), lm, l.q.Now(), l.cfg.PMTUTimeout) {
		l.stats.PMTUUpdates++
		return true
	}
	return false
}
