package ndp

import (
	"hash/maphash"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/internal/pending"
	"github.com/mirago/mirago/stack/timer"
)

// State is a neighbor cache entry's reachability state (RFC 4861 §7.3.2).
type State uint8

// Neighbor states.
const (
	StateFree       State = iota
	StateIncomplete       // resolution in progress: solicitations sent, no answer yet
	StateReachable        // confirmed within ReachableTime
	StateStale            // not confirmed lately; used as is, probed on use
	StateDelay            // used while stale: a probe follows unless confirmed
	StateProbe            // unicast solicitations sent, still used
)

func (s State) String() string {
	return [...]string{"FREE", "INCOMPLETE", "REACHABLE", "STALE", "DELAY", "PROBE"}[s]
}

const none = -1

// evictScan is how many least recently used entries are examined for one
// never used for output before the LRU one is taken (as in stack/arp).
const evictScan = 8

type entry struct {
	ip       inet.Addr
	mac      inet.MAC
	state    State
	isRouter bool // IsRouter (RFC 4861 §7.3.1 / §7.2.5)
	everUsed bool // used for output at least once
	probes   int  // solicitations sent in this resolution or probe
	prev     int32
	next     int32         // LRU links; next is also the free-list link
	pend     pending.Queue // packets waiting for resolution
	t        timer.Entry
}

// cache is a fixed-size table of entries with an open-addressing index
// (linear probing, seeded hash, load <= 1/2) and an LRU list, as
// stack/arp's. It never allocates after newCache, whatever the traffic.
type cache struct {
	ents       []entry
	index      []int32 // entry number, or none
	mask       uint32
	seed       maphash.Seed
	head, tail int32 // LRU list, head most recently used
	free       int32
	n          int
	incomplete int   // entries in StateIncomplete
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

func (c *cache) home(a inet.Addr) uint32 {
	b := a.As16()
	return uint32(maphash.Bytes(c.seed, b[:])) & c.mask
}

// slot returns the index slot holding a, or the empty slot where it would
// go, and the entry number (none if absent).
func (c *cache) slot(a inet.Addr) (uint32, int32) {
	s := c.home(a)
	for {
		i := c.index[s]
		if i == none || c.ents[i].ip == a {
			return s, i
		}
		s = (s + 1) & c.mask
	}
}

// find returns the entry number for a, or none; the entry found last is
// checked first.
func (c *cache) find(a inet.Addr) int32 {
	if h := c.hint; h != none && c.ents[h].state != StateFree && c.ents[h].ip == a {
		return h
	}
	_, i := c.slot(a)
	if i != none {
		c.hint = i
	}
	return i
}

// add takes a free entry for a (a must be absent) in state st and puts it
// at the LRU head. It returns none when no entry is free.
func (c *cache) add(a inet.Addr, st State) int32 {
	i := c.free
	if i == none {
		return none
	}
	e := &c.ents[i]
	c.free = e.next
	s, _ := c.slot(a)
	c.index[s] = i
	*e = entry{ip: a, t: e.t, prev: none, next: none}
	c.setState(i, st)
	c.pushFront(i)
	c.n++
	return i
}

// setState changes entry i's state, keeping the incomplete count.
func (c *cache) setState(i int32, st State) {
	e := &c.ents[i]
	if e.state == StateIncomplete {
		c.incomplete--
	}
	if st == StateIncomplete {
		c.incomplete++
	}
	e.state = st
}

// remove unlinks entry i and returns it to the free list. The caller has
// already stopped its timer and freed its pending packets.
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
	c.setState(i, StateFree)
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

// victim picks the entry to evict: among the evictScan least recently
// used, the oldest one never used for output and not a router's; else,
// if !unusedOnly, the least recently used one. It returns none if there
// is nothing to pick.
func (c *cache) victim(unusedOnly bool) int32 {
	i := c.tail
	for k := 0; k < evictScan && i != none; k++ {
		if e := &c.ents[i]; !e.everUsed && !e.isRouter && e.state != StateIncomplete {
			return i
		}
		i = c.ents[i].prev
	}
	if unusedOnly {
		return none
	}
	return c.tail
}

// oldestIncomplete is the least recently used entry in StateIncomplete.
func (c *cache) oldestIncomplete() int32 {
	for i := c.tail; i != none; i = c.ents[i].prev {
		if c.ents[i].state == StateIncomplete {
			return i
		}
	}
	return none
}
