package ndp

import (
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

// ErrorSink receives each queued packet dropped when its next hop does
// not answer, as an Address Unreachable about it (RFC 4861 §7.2.2) would
// bring it back: the transport that sent it learns the host is
// unreachable. *ipv6.Layer implements it.
type ErrorSink interface {
	DeliverError(kind transport.ErrorKind, mtu int, from inet.Addr, quoted ipv6.Header)
}

// SetErrorSink sets where failed resolutions are reported.
func (l *Layer) SetErrorSink(s ErrorSink) { l.errs = s }

// Output implements ipv6.Link.Output: it sends the IPv6 packet b toward
// dst, its final destination. A multicast dst goes to its 33:33 group
// address (RFC 2464 §7); a unicast one to the MAC of the next hop that
// next-hop determination picks (RFC 4861 §5.2), resolved through the
// neighbor cache. An unresolved packet is copied into a bounded queue
// (the caller keeps b) and Output returns nil: a full per-neighbor
// queue drops its oldest packet, a full global queue returns
// ErrQueueFull.
func (l *Layer) Output(dst inet.Addr, b *pkt.Buf) error {
	if dst.IsMulticast() {
		return l.eth.Write(inet.MulticastMAC(dst), inet.EtherTypeIPv6, b)
	}
	nh, err := l.nextHop(dst)
	if err != nil {
		l.stats.NoRoute++
		return err
	}
	return l.sendTo(nh, b)
}

// sendTo transmits b to the on-link neighbor nh, resolving it first if
// need be; using a STALE entry starts NUD (RFC 4861 §7.3.3).
func (l *Layer) sendTo(nh inet.Addr, b *pkt.Buf) error {
	i := l.cache.find(nh)
	if i != none {
		e := &l.cache.ents[i]
		switch e.state {
		case StateStale:
			l.cache.setState(i, StateDelay)
			l.q.After(&e.t, DelayFirstProbeTime)
			fallthrough
		case StateReachable, StateDelay, StateProbe:
			e.everUsed = true
			l.cache.touch(i)
			return l.eth.Write(e.mac, inet.EtherTypeIPv6, b)
		}
	}
	if !l.pend.Fits(b.Len()) {
		l.stats.PendingDrops++
		return ErrTooBig
	}
	if i == none {
		var err error
		if i, err = l.resolve(nh, srcOf(b.Bytes())); err != nil {
			l.stats.PendingDrops++
			return err
		}
	}
	return l.enqueue(i, b)
}

// srcOf returns the source address of the IPv6 packet p, :: if p is too
// short to hold one.
func srcOf(p []byte) inet.Addr {
	if len(p) < ipv6.HeaderLen {
		return inet.Addr{}
	}
	return inet.AddrFrom16([16]byte(p[8:24]))
}

// resolve creates an INCOMPLETE entry for a and sends the first
// multicast solicitation; the entry's timer sends the others, one per
// RetransTimer (RFC 4861 §7.2.2). Entries waiting for resolution are
// bounded (RFC 6583 §7.1): past MaxIncomplete the oldest of them goes.
func (l *Layer) resolve(a, src inet.Addr) (int32, error) {
	if !a.Is6() || a.IsUnspecified() || a.IsLoopback() {
		return none, ErrAddr
	}
	if l.addrs.find(a) >= 0 {
		return none, ErrLocal
	}
	var v int32 = none
	switch {
	case l.cache.incomplete >= l.cfg.MaxIncomplete:
		v = l.cache.oldestIncomplete()
	case l.cache.free == none:
		if v = l.cache.victim(false); v == none {
			return none, ErrCacheFull
		}
	}
	if v != none {
		l.stats.Evictions++
		l.drop(v)
	}
	i := l.cache.add(a, StateIncomplete)
	if i == none {
		return none, ErrCacheFull
	}
	e := &l.cache.ents[i]
	e.probes, e.everUsed = 1, true
	l.q.After(&e.t, l.retrans)
	l.solicit(a, src, inet.MAC{})
	return i, nil
}

// enqueue appends a copy of b to entry i's pending queue.
func (l *Layer) enqueue(i int32, b *pkt.Buf) error {
	dropped, ok := l.pend.Push(&l.cache.ents[i].pend, b, l.cfg.PendingPerAddr)
	l.stats.PendingDrops += uint64(dropped)
	if !ok {
		l.stats.PendingDrops++
		return ErrQueueFull
	}
	return nil
}

// flush sends entry i's pending packets, oldest first, now that its
// address is known. Sending them is a use: a STALE entry goes to DELAY.
func (l *Layer) flush(i int32) {
	e := &l.cache.ents[i]
	if l.pend.Drain(&e.pend, func(b *pkt.Buf) {
		_ = l.eth.Write(e.mac, inet.EtherTypeIPv6, b) // counted by ethernet
	}) > 0 && e.state == StateStale {
		l.cache.setState(i, StateDelay)
		l.q.After(&e.t, DelayFirstProbeTime)
	}
}

// drop removes entry i: its timer stops and its pending packets are
// dropped and counted.
func (l *Layer) drop(i int32) {
	e := &l.cache.ents[i]
	l.q.Stop(&e.t)
	l.stats.PendingDrops += uint64(l.pend.Drain(&e.pend, nil))
	l.cache.remove(i)
}

// setReachable confirms entry i (RFC 4861 §7.3.3): REACHABLE for
// ReachableTime.
func (l *Layer) setReachable(i int32) {
	e := &l.cache.ents[i]
	l.cache.setState(i, StateReachable)
	e.probes = 0
	l.q.After(&e.t, l.reachable)
}

// setStale makes entry i STALE; an unused STALE entry goes after
// StaleTime.
func (l *Layer) setStale(i int32) {
	e := &l.cache.ents[i]
	l.cache.setState(i, StateStale)
	e.probes = 0
	l.q.After(&e.t, l.cfg.StaleTime)
}

// onNeighborTimer runs when entry i's timer fires (RFC 4861 §7.3.3 and
// Appendix C).
func (l *Layer) onNeighborTimer(i int32, now time.Time) {
	e := &l.cache.ents[i]
	switch e.state {
	case StateIncomplete:
		if e.probes >= MaxMulticastSolicit {
			l.fail(i)
			return
		}
		e.probes++
		var src inet.Addr
		if b := l.pend.Front(&e.pend); b != nil {
			src = srcOf(b.Bytes())
		}
		l.solicit(e.ip, src, inet.MAC{})
		l.q.Schedule(&e.t, now.Add(l.retrans))
	case StateReachable:
		l.setStale(i)
	case StateStale:
		l.stats.Expired++
		l.drop(i)
	case StateDelay:
		l.cache.setState(i, StateProbe)
		e.probes = 1
		l.solicit(e.ip, inet.Addr{}, e.mac)
		l.q.Schedule(&e.t, now.Add(l.retrans))
	case StateProbe:
		if e.probes >= MaxUnicastSolicit {
			l.stats.ProbeFailures++
			a := e.ip
			l.drop(i)
			if l.cfg.OnUnreachable != nil {
				l.cfg.OnUnreachable(a)
			}
			return
		}
		e.probes++
		l.solicit(e.ip, inet.Addr{}, e.mac)
		l.q.Schedule(&e.t, now.Add(l.retrans))
	}
}

// fail ends an unanswered resolution (RFC 4861 §7.2.2): each queued
// packet is reported to its sender as unreachable and dropped.
func (l *Layer) fail(i int32) {
	e := &l.cache.ents[i]
	a := e.ip
	l.stats.ResolutionFailures++
	if l.errs != nil {
		l.stats.PendingDrops += uint64(l.pend.Drain(&e.pend, func(b *pkt.Buf) {
			if p := b.Bytes(); len(p) >= ipv6.HeaderLen {
				l.errs.DeliverError(transport.HostUnreachable, 0, a, ipv6.Header(p))
			}
		}))
	}
	l.drop(i)
	if l.cfg.OnUnreachable != nil {
		l.cfg.OnUnreachable(a)
	}
}

// learn records that the on-link a is at mac, as a Neighbor
// Solicitation's source link-layer address, a router advertisement's or
// a redirect's target says (RFC 4861 §7.2.3, §6.3.4, §8.3): a new entry
// is STALE; a known one whose address changed becomes STALE; one being
// resolved takes the address and sends its queue. New entries only ever
// take the place of entries never used for output, so a flood of
// solicitations cannot push out the neighbors we talk to. router marks
// a as a router (IsRouter).
func (l *Layer) learn(a inet.Addr, mac inet.MAC, router bool) {
	i := l.cache.find(a)
	if i == none {
		if l.addrs.find(a) >= 0 {
			return
		}
		if l.cache.free == none {
			v := l.cache.victim(true)
			if v == none {
				l.stats.LearnRefused++
				return
			}
			l.stats.Evictions++
			l.drop(v)
		}
		if i = l.cache.add(a, StateStale); i == none {
			return
		}
		e := &l.cache.ents[i]
		e.mac, e.isRouter = mac, router
		l.stats.Learned++
		l.q.After(&e.t, l.cfg.StaleTime)
		return
	}
	e := &l.cache.ents[i]
	e.isRouter = e.isRouter || router
	switch {
	case e.state == StateIncomplete:
		e.mac = mac
		l.setStale(i)
		l.flush(i)
	case e.mac != mac:
		e.mac = mac
		l.setStale(i)
	}
}

// advertised applies a Neighbor Advertisement about entry i (RFC 4861
// §7.2.5).
func (l *Layer) advertised(i int32, tll inet.MAC, hasTLL, solicited, override, router bool) {
	e := &l.cache.ents[i]
	if e.state == StateIncomplete {
		if !hasTLL {
			l.stats.NAIgnored++
			return
		}
		e.mac, e.isRouter = tll, router
		if solicited {
			l.setReachable(i)
		} else {
			l.setStale(i)
		}
		l.flush(i)
		return
	}
	changed := hasTLL && tll != e.mac
	if !override && changed {
		// Keep the address we have, but no longer trust it.
		if e.state == StateReachable {
			l.setStale(i)
		}
		return
	}
	if hasTLL {
		e.mac = tll
	}
	switch {
	case solicited:
		l.setReachable(i)
	case changed:
		l.setStale(i)
	}
	if e.isRouter && !router {
		// A router turned host is no default router (§7.2.5).
		l.dropRouter(e.ip)
	}
	e.isRouter = router
}

// reachableOrProbably reports whether a has an entry in any state but
// INCOMPLETE (RFC 4861 §6.3.6).
func (l *Layer) reachableOrProbably(a inet.Addr) bool {
	i := l.cache.find(a)
	return i != none && l.cache.ents[i].state != StateIncomplete
}

// Neighbor is a neighbor cache entry as Neighbors reports it.
type Neighbor struct {
	Addr     inet.Addr
	MAC      inet.MAC // zero while INCOMPLETE
	State    State
	IsRouter bool
}

// Neighbors appends the neighbor cache's entries to dst, most recently
// used first.
func (l *Layer) Neighbors(dst []Neighbor) []Neighbor {
	for i := l.cache.head; i != none; i = l.cache.ents[i].next {
		e := &l.cache.ents[i]
		dst = append(dst, Neighbor{e.ip, e.mac, e.state, e.isRouter})
	}
	return dst
}

// Lookup returns a's link-layer address and state if it has an entry
// that knows it.
func (l *Layer) Lookup(a inet.Addr) (inet.MAC, State, bool) {
	i := l.cache.find(a)
	if i == none || l.cache.ents[i].state == StateIncomplete {
		return inet.MAC{}, StateFree, false
	}
	return l.cache.ents[i].mac, l.cache.ents[i].state, true
}
