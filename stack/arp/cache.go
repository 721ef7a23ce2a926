package arp

import (
	"hash/maphash"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/internal/pending"
	"github.com/mirago/mirago/stack/timer"
)

// state of a cache entry (RFC 1122 §2.3.2.1).
type state uint8

const (
	stateFree       state = iota
	stateIncomplete       // request sent, no answer yet
	stateReachable        // confirmed within Lifetime
	stateRefreshing       // Lifetime over but in use: unicast polls sent, still usable
)

const none = -1

// evictScan is how many least recently used entries are examined for one
// that was never used for output before the LRU one is taken.
const evictScan = 8

type entry struct {
	ip       inet.Addr4
	mac      inet.MAC
	state    state
	everUsed bool // used for output at least once
	recent   bool // used for output since the last confirmation
	retries  int  // requests sent in the current resolution or refresh
	prev     int32
	next     int32         // LRU links; next is also the free-list link
	pend     pending.Queue // packets waiting for resolution
	t        timer.Entry
	w        *waiter
}

// cache is a fixed-size table of entries with an open-addressing index
// (linear probing, seeded hash, load <= 1/2) and an LRU list. It never
// allocates after newCache, whatever the traffic.
type cache struct {
	ents       []entry
	index      []int32 // entry number, or none
	mask       uint32
	seed       maphash.Seed
	head, tail int32 // LRU list, head most recently used
	free       int32
	n          int
	hint       int32 // entry last returned by find (may since be free)
}

func newCache(size int) cache {
	c := cache{ents: make([]entry, size), seed: maphash.MakeSeed(), head: none, tail: none, hint: none}
	m := 1
	for m < 2*size {
		m <<= 1
	}
	c.index = make([]int32, m)
	c.mask = uint32(m - 1)
	for i := range c.index {
		c.index[i] = none
	}
	for i := range c.ents {
		c.ents[i].next = int32(i + 1)
	}
	c.ents[size-1].next = none
	return c
}

func (c *cache) home(a inet.Addr4) uint32 {
	return uint32(maphash.Bytes(c.seed, a[:])) & c.mask
}

// slot returns the index slot holding a, or the empty slot where it would
// go, and the entry number (none if absent).
func (c *cache) slot(a inet.Addr4) (uint32, int32) {
	s := c.home(a)
	for {
		i := c.index[s]
		if i == none || c.ents[i].ip == a {
			return s, i
		}
		s = (s + 1) & c.mask
	}
}

// find returns the entry number for a, or none. The entry found last is
// checked first, which spares the hash for the common run of packets to
// one next hop: an entry in use whose address is a is a's only entry.
func (c *cache) find(a inet.Addr4) int32 {
	if h := c.hint; h != none && c.ents[h].state != stateFree && c.ents[h].ip == a {
		return h
	}
	_, i := c.slot(a)
	if i != none {
		c.hint = i
	}
	return i
}

// add takes a free entry for a (a must be absent) and puts it at the LRU
// head. It returns none when no entry is free.
func (c *cache) add(a inet.Addr4) int32 {
	i := c.free
	if i == none {
		return none
	}
	e := &c.ents[i]
	c.free = e.next
	s, _ := c.slot(a)
	c.index[s] = i
	*e = entry{ip: a, t: e.t, prev: none, next: none, state: stateIncomplete}
	c.pushFront(i)
	c.n++
	return i
}

// remove unlinks entry i and returns it to the free list. The caller has
// already stopped its timer, freed its pending packets and woken waiters.
func (c *cache) remove(i int32) {
	e := &c.ents[i]
	s, _ := c.slot(e.ip)
	// Backward-shift deletion keeps probe chains intact without tombstones.
	for j := s; ; {
		j = (j + 1) & c.mask
		k := c.index[j]
		if k == none {
			break
		}
		h := c.home(c.ents[k].ip)
		if (s <= j && s < h && h <= j) || (s > j && (s < h || h <= j)) {
			continue
		}
		c.index[s] = k
		s = j
	}
	c.index[s] = none
	c.unlink(i)
	e.state = stateFree
	e.w = nil
	e.next = c.free
	c.free = i
	c.n--
}

func (c *cache) pushFront(i int32) {
	e := &c.ents[i]
	e.prev, e.next = none, c.head
	if c.head != none {
		c.ents[c.head].prev = i
	}
	c.head = i
	if c.tail == none {
		c.tail = i
	}
}

func (c *cache) unlink(i int32) {
	e := &c.ents[i]
	if e.prev != none {
		c.ents[e.prev].next = e.next
	} else {
		c.head = e.next
	}
	if e.next != none {
		c.ents[e.next].prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = none, none
}

// touch moves i to the LRU head.
func (c *cache) touch(i int32) {
	if c.head == i {
		return
	}
	c.unlink(i)
	c.pushFront(i)
}

// victim picks the entry to evict: among the evictScan least recently used,
// the oldest one never used for output; else, if !unusedOnly, the least
// recently used one. It returns none if there is nothing to pick.
func (c *cache) victim(unusedOnly bool) int32 {
	i := c.tail
	for k := 0; k < evictScan && i != none; k++ {
		if !c.ents[i].everUsed && c.ents[i].state != stateIncomplete {
			return i
		}
		i = c.ents[i].prev
	}
	if unusedOnly {
		return none
	}
	return c.tail
}
