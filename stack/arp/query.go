package arp

import (
	"context"
	"errors"

	"github.com/mirago/mirago/stack/inet"
)

// errEvicted wakes waiters of an entry that was removed before its
// resolution ended; Query then starts over.
var errEvicted = errors.New("arp: entry evicted")

// waiter is shared by the Query calls waiting for one resolution.
type waiter struct {
	done chan struct{}
	mac  inet.MAC
	err  error
}

// wake ends entry i's waiters with its MAC (err nil) or err.
func (l *Layer) wake(i int32, err error) {
	e := &l.cache.ents[i]
	if e.w == nil {
		return
	}
	e.w.mac, e.w.err = e.mac, err
	close(e.w.done)
	e.w = nil
}

// LookupLocked returns a's MAC if the cache holds a confirmed entry for it (or a
// needs no resolution). It does not start a resolution.
func (l *Layer) LookupLocked(a inet.Addr4) (inet.MAC, bool) {
	if mac, ok := l.mapped(a); ok {
		return mac, true
	}
	if i := l.cache.find(a); i != none && l.cache.ents[i].state != stateIncomplete {
		return l.cache.ents[i].mac, true
	}
	return inet.MAC{}, false
}

// Query resolves a, like mirage's query_arpv4. Unlike the other methods it
// takes Config.Lock itself and must be called without it; it blocks until
// a is resolved, resolution fails (ErrUnreachable) or ctx is done.
func (l *Layer) Query(ctx context.Context, a inet.Addr4) (inet.MAC, error) {
	if l.cfg.Lock == nil {
		return inet.MAC{}, ErrNoLock
	}
	for {
		if err := ctx.Err(); err != nil {
			return inet.MAC{}, err
		}
		l.cfg.Lock.Lock()
		mac, w, err := l.queryLocked(a)
		l.cfg.Lock.Unlock()
		if w == nil {
			return mac, err
		}
		select {
		case <-w.done:
			if w.err == nil {
				return w.mac, nil
			}
			if w.err != errEvicted {
				return inet.MAC{}, w.err
			}
		case <-ctx.Done():
			return inet.MAC{}, ctx.Err()
		}
	}
}

// queryLocked returns a's MAC, or a waiter for its resolution.
func (l *Layer) queryLocked(a inet.Addr4) (inet.MAC, *waiter, error) {
	if mac, ok := l.LookupLocked(a); ok {
		return mac, nil, nil
	}
	i := l.cache.find(a)
	if i == none {
		var err error
		if i, err = l.resolve(a); err != nil {
			return inet.MAC{}, nil, err
		}
	}
	e := &l.cache.ents[i]
	if e.w == nil {
		e.w = &waiter{done: make(chan struct{})}
	}
	return inet.MAC{}, e.w, nil
}
