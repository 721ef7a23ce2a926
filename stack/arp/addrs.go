package arp

import (
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// ownIP is one of our addresses.
type ownIP struct {
	addr      inet.Addr4
	defended  time.Time // last defence (RFC 5227 §2.4)
	announces int       // announcements still to send
}

// AddIPLocked makes l answer requests for a and announces it with AnnounceNum
// gratuitous ARP requests, AnnounceInterval apart, the first at once
// (RFC 5227 §2.3). A cache entry for a is removed.
func (l *Layer) AddIPLocked(a inet.Addr4) {
	if a.IsUnspecified() || a.IsBroadcast() || a.IsMulticast() || l.owns(a) >= 0 {
		return
	}
	if i := l.cache.find(a); i != none {
		l.drop(i, ErrLocal)
	}
	l.ips = append(l.ips, ownIP{addr: a, announces: AnnounceNum - 1})
	l.announce(a)
	if !l.annT.Pending() {
		l.q.After(&l.annT, AnnounceInterval)
	}
}

// onAnnounce sends the outstanding announcements.
func (l *Layer) onAnnounce(now time.Time) {
	more := false
	for k := range l.ips {
		if o := &l.ips[k]; o.announces > 0 {
			o.announces--
			l.announce(o.addr)
			more = more || o.announces > 0
		}
	}
	if more {
		l.q.Schedule(&l.annT, now.Add(AnnounceInterval))
	}
}

// RemoveIPLocked stops answering for a.
func (l *Layer) RemoveIPLocked(a inet.Addr4) {
	if k := l.owns(a); k >= 0 {
		l.ips = append(l.ips[:k], l.ips[k+1:]...)
	}
}

// IPsLocked returns our addresses, in the order they were added.
func (l *Layer) IPsLocked() []inet.Addr4 {
	out := make([]inet.Addr4, len(l.ips))
	for k, o := range l.ips {
		out[k] = o.addr
	}
	return out
}

// owns returns a's position in l.ips, or -1.
func (l *Layer) owns(a inet.Addr4) int {
	for k := range l.ips {
		if l.ips[k].addr == a {
			return k
		}
	}
	return -1
}

// source is the sender address of our requests: our first address, or
// 0.0.0.0 before we have one (as in a probe, RFC 5227 §2.1.1).
func (l *Layer) source() inet.Addr4 {
	if len(l.ips) == 0 {
		return inet.IPv4Unspecified
	}
	return l.ips[0].addr
}

// announce broadcasts a gratuitous request for a (RFC 5227 §2.3).
func (l *Layer) announce(a inet.Addr4) {
	if l.send(inet.BroadcastMAC, Fields{Op: OpRequest, SenderIP: a, TargetIP: a}) {
		l.stats.GratuitousSent++
	}
}

// conflict handles another host's claim on our address l.ips[k]: it is
// reported, never learned, and defended at most once per DefendInterval
// (RFC 5227 §2.4 (b)).
func (l *Layer) conflict(k int, sha inet.MAC) {
	l.stats.Conflicts++
	o := &l.ips[k]
	a := o.addr
	now := l.q.Now()
	if o.defended.IsZero() || now.Sub(o.defended) >= DefendInterval {
		o.defended = now
		l.announce(a)
	}
	if l.cfg.OnConflict != nil {
		l.cfg.OnConflict(a, sha)
	}
}
