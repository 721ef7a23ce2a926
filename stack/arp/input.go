package arp

import (
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// Input handles one ARP packet; New registers it with Ethernet for
// EtherType 0x0806. It follows RFC 826's merge logic, except that entries
// are only created for requests aimed at us (a reply or a gratuitous ARP
// refreshes an existing entry only), so that unsolicited traffic cannot
// fill or poison the cache. A reply aimed at one of our addresses about an
// address we have no entry for (no resolution pending, nothing cached) was
// not asked for: it is dropped and counted as DropUnsolicited, the mark of
// an ARP spoofing or cache poisoning attempt. Replies aimed at other
// addresses, gratuitous replies among them, are counted as Ignored.
func (l *Layer) Input(src, dst inet.MAC, payload []byte, _ netif.RxMeta) {
	p, err := ParsePacket(payload)
	if err != nil {
		l.countParseError(err)
		return
	}
	sha, spa, tpa := p.SenderMAC(), p.SenderIP(), p.TargetIP()
	if sha.IsMulticast() || sha.IsZero() {
		l.stats.DropSenderMAC++
		return
	}
	if spa.IsReserved() || spa.IsMulticast() {
		l.stats.DropSenderIP++
		return
	}
	op := p.Op()
	if op == OpRequest {
		l.stats.RequestsReceived++
	} else {
		l.stats.RepliesReceived++
	}
	if p.IsGratuitous() {
		l.stats.GratuitousReceived++
	}
	if sha == l.mac {
		l.stats.Ignored++ // our own packet, looped back
		return
	}
	if k := l.owns(spa); k >= 0 {
		l.conflict(k, sha)
		return
	}
	forUs, known := l.owns(tpa) >= 0, false
	if !spa.IsUnspecified() { // 0.0.0.0: a probe, nothing to learn (RFC 5227 §2.1.1)
		if i := l.cache.find(spa); i != none {
			l.confirm(i, sha)
			known = true
		} else if forUs && op == OpRequest {
			l.learn(spa, sha)
		}
	}
	if !forUs {
		if !known {
			l.stats.Ignored++
		}
		return
	}
	if op == OpReply && !known {
		l.stats.DropUnsolicited++
		return
	}
	if op == OpRequest {
		// RFC 826: swap sender and target, fill in our MAC, reply unicast.
		if l.send(sha, Fields{Op: OpReply, SenderIP: tpa, TargetMAC: sha, TargetIP: spa}) {
			l.stats.RepliesSent++
		}
	}
}

func (l *Layer) countParseError(err error) {
	switch err {
	case ErrHardwareType:
		l.stats.DropHardwareType++
	case ErrProtocolType:
		l.stats.DropProtocolType++
	case ErrHardwareLen:
		l.stats.DropHardwareLen++
	case ErrProtocolLen:
		l.stats.DropProtocolLen++
	case ErrOp:
		l.stats.DropOp++
	default:
		l.stats.DropShort++
	}
}

// confirm records that a now maps to sha: a resolution completes, pending
// packets go out and waiters wake; a known entry is refreshed.
func (l *Layer) confirm(i int32, sha inet.MAC) {
	e := &l.cache.ents[i]
	was := e.state
	e.mac, e.state, e.retries, e.recent = sha, stateReachable, 0, false
	l.q.After(&e.t, l.cfg.Lifetime)
	if was == stateIncomplete {
		l.flush(i)
		l.wake(i, nil)
	}
}

// learn creates an entry for a request aimed at us. It only ever evicts an
// entry that was never used for output, so a flood of requests cannot push
// out the gateway.
func (l *Layer) learn(a inet.Addr4, sha inet.MAC) {
	if l.cache.free == none {
		v := l.cache.victim(true)
		if v == none {
			return
		}
		l.stats.Evictions++
		l.drop(v, errEvicted)
	}
	i := l.cache.add(a)
	if i == none {
		return
	}
	l.stats.Learned++
	l.confirm(i, sha)
}

// onTimer runs when entry i's timer fires: a retry or failure for an
// incomplete entry, aging for a confirmed one (RFC 1122 §2.3.2.1).
func (l *Layer) onTimer(i int32, now time.Time) {
	e := &l.cache.ents[i]
	switch e.state {
	case stateIncomplete:
		if e.retries >= l.cfg.MaxRetries {
			l.fail(i)
			return
		}
		e.retries++
		l.sendRequest(inet.BroadcastMAC, e.ip)
		l.q.Schedule(&e.t, now.Add(l.cfg.RequestInterval))
	case stateReachable, stateRefreshing:
		// An entry still in use is revalidated by unicast polls
		// (RFC 1122 §2.3.2.1 (2)); an idle one is dropped.
		if !e.recent || e.retries >= l.cfg.MaxRetries {
			l.stats.Expired++
			l.drop(i, errEvicted)
			return
		}
		e.state = stateRefreshing
		e.retries++
		l.sendRequest(e.mac, e.ip)
		l.q.Schedule(&e.t, now.Add(l.cfg.RequestInterval))
	}
}

// fail ends an unanswered resolution (RFC 1122 §2.3.2.2): pending packets
// are dropped and OnUnreachable is told.
func (l *Layer) fail(i int32) {
	a := l.cache.ents[i].ip
	l.stats.ResolutionFailures++
	l.drop(i, ErrUnreachable)
	if l.cfg.OnUnreachable != nil {
		l.cfg.OnUnreachable(a)
	}
}

// drop removes entry i: its timer stops, its pending packets are dropped
// and counted, and waiters wake with err.
func (l *Layer) drop(i int32, err error) {
	e := &l.cache.ents[i]
	l.q.Stop(&e.t)
	l.stats.PendingDrops += uint64(l.pend.Drain(&e.pend, nil))
	l.wake(i, err)
	l.cache.remove(i)
}
