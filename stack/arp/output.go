package arp

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/pkt"
)

// Output implements ipv4.Link.Output: it sends the IPv4 packet b to
// nextHop's MAC. Broadcast next hops go to ff:ff:ff:ff:ff:ff and multicast
// ones to their mapped group address, without resolution. An unresolved
// packet is copied into the pending queue (the caller keeps b) and Output
// returns nil; a full per-address queue drops its oldest packet (RFC 1122
// §2.3.2.2 keeps the latest), a full global queue returns ErrQueueFull.
func (l *Layer) Output(nextHop inet.Addr4, b *pkt.Buf) error {
	if mac, ok := l.mapped(nextHop); ok {
		return l.eth.Write(mac, inet.EtherTypeIPv4, b)
	}
	i := l.cache.find(nextHop)
	if i != none {
		e := &l.cache.ents[i]
		if e.state != stateIncomplete {
			e.everUsed, e.recent = true, true
			l.cache.touch(i)
			return l.eth.Write(e.mac, inet.EtherTypeIPv4, b)
		}
	}
	if !l.pend.Fits(b.Len()) {
		l.stats.PendingDrops++
		return ErrTooBig
	}
	if i == none {
		var err error
		if i, err = l.resolve(nextHop); err != nil {
			l.stats.PendingDrops++
			return err
		}
	}
	return l.enqueue(i, b)
}

// mapped returns the MAC of an address that needs no resolution: the
// limited or a configured subnet broadcast, or a multicast group mapped as
// in RFC 1112 §6.4.
func (l *Layer) mapped(a inet.Addr4) (inet.MAC, bool) {
	switch {
	case a.IsBroadcast(), l.cfg.IsBroadcast != nil && l.cfg.IsBroadcast(a):
		return inet.BroadcastMAC, true
	case a.IsMulticast():
		return inet.MAC{0x01, 0x00, 0x5e, a[1] & 0x7f, a[2], a[3]}, true
	}
	return inet.MAC{}, false
}

// resolve creates an incomplete entry for a and sends the first request;
// the entry's timer sends the rest, one per RequestInterval.
func (l *Layer) resolve(a inet.Addr4) (int32, error) {
	if a.IsUnspecified() {
		return none, ErrAddr
	}
	if l.owns(a) >= 0 {
		return none, ErrLocal
	}
	if l.cache.free == none {
		v := l.cache.victim(false)
		if v == none {
			return none, ErrCacheFull
		}
		l.stats.Evictions++
		l.drop(v, errEvicted)
	}
	i := l.cache.add(a)
	if i == none {
		return none, ErrCacheFull
	}
	e := &l.cache.ents[i]
	e.retries, e.everUsed = 1, true
	l.q.After(&e.t, l.cfg.RequestInterval)
	l.sendRequest(inet.BroadcastMAC, a)
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

// flush sends entry i's pending packets, oldest first.
func (l *Layer) flush(i int32) {
	e := &l.cache.ents[i]
	l.pend.Drain(&e.pend, func(b *pkt.Buf) {
		_ = l.eth.Write(e.mac, inet.EtherTypeIPv4, b) // counted by ethernet
	})
}
