package dns

import (
	"net/netip"
	"time"
)

// cacheEntry is a cached answer: addresses, or a negative answer (err set).
type cacheEntry struct {
	addrs   []netip.Addr
	err     error // ErrNXDomain or ErrNoData for negative entries (RFC 2308)
	expires time.Time
}

// cache is a bounded TTL cache keyed by canonical name. It is small (tens
// to hundreds of entries), so eviction is a linear scan: expired entries
// first, then the one closest to expiry.
type cache struct {
	max     int
	entries map[string]cacheEntry
}

func (c *cache) get(key string, now time.Time) (cacheEntry, bool) {
	e, ok := c.entries[key]
	if !ok {
		return cacheEntry{}, false
	}
	if !now.Before(e.expires) {
		delete(c.entries, key)
		return cacheEntry{}, false
	}
	return e, true
}

func (c *cache) put(key string, e cacheEntry, now time.Time) {
	if c.max <= 0 || !e.expires.After(now) {
		return
	}
	if c.entries == nil {
		c.entries = make(map[string]cacheEntry)
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[key] = e
}

func (c *cache) evict(now time.Time) {
	var victim string
	var soonest time.Time
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
			continue
		}
		if victim == "" || e.expires.Before(soonest) {
			victim, soonest = k, e.expires
		}
	}
	if len(c.entries) >= c.max && victim != "" {
		delete(c.entries, victim)
	}
}
