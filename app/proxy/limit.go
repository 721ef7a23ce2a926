package main

import (
	"net/netip"
	"sync"
)

// limiter bounds the connections open in all and per client address.
type limiter struct {
	mu        sync.Mutex
	max       int // in all; 0: no limit
	perClient int // per client address; 0: no limit
	total     int
	per       map[netip.Addr]int
}

func newLimiter(max, perClient int) *limiter {
	return &limiter{max: max, perClient: perClient, per: map[netip.Addr]int{}}
}

// acquire takes a slot for client, or says which limit refuses it.
func (l *limiter) acquire(client netip.Addr) (ok bool, limit reason) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.total >= l.max {
		return false, refMaxConns
	}
	if l.perClient > 0 && l.per[client] >= l.perClient {
		return false, refMaxPerClient
	}
	l.total++
	l.per[client]++
	return true, 0
}

// setLimits changes the limits (on reload); connections over the new
// limits stay, new ones wait for slots.
func (l *limiter) setLimits(max, perClient int) {
	l.mu.Lock()
	l.max, l.perClient = max, perClient
	l.mu.Unlock()
}

// release gives back a slot taken by acquire.
func (l *limiter) release(client netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.per[client]--; l.per[client] <= 0 {
		delete(l.per, client)
	}
}

// open returns the connections held now and the number of clients.
func (l *limiter) open() (conns, clients int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, len(l.per)
}
