package ndp

import (
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/timer"
)

// dnsServer is a recursive DNS server learned from an RDNSS option (RFC
// 8106 §5.1), kept for its lifetime.
type dnsServer struct {
	used  bool
	addr  inet.Addr
	until time.Time // zero: forever
	t     timer.Entry
}

type dnsList struct {
	s []dnsServer
}

func (t *dnsList) init(l *Layer, n int) {
	t.s = make([]dnsServer, n)
	for k := range t.s {
		t.s[k].t.Init(func(time.Time) {
			t.s[k].used = false
			l.changed()
		})
	}
}

// updateDNS applies one server of an RDNSS option (RFC 8106 §5.3.1): a
// zero lifetime removes it, else it is kept for the lifetime. When the
// list is full, a new server takes the place of the one that expires
// soonest, if it outlives it.
func (l *Layer) updateDNS(a inet.Addr, lifetime uint32) {
	if !a.Is6() || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() {
		l.stats.DNSIgnored++
		return
	}
	t := &l.dns
	now := l.q.Now()
	end := until(now, lifetime)
	k, free, soonest := -1, -1, -1
	for j := range t.s {
		s := &t.s[j]
		switch {
		case s.used && s.addr == a:
			k = j
		case !s.used:
			if free < 0 {
				free = j
			}
		case !s.until.IsZero() && (soonest < 0 || s.until.Before(t.s[soonest].until)):
			soonest = j
		}
	}
	if lifetime == 0 {
		if k >= 0 {
			l.q.Stop(&t.s[k].t)
			t.s[k].used = false
			l.changed()
		}
		return
	}
	if k < 0 {
		switch {
		case free >= 0:
			k = free
		case soonest >= 0 && (end.IsZero() || end.After(t.s[soonest].until)):
			k = soonest
		default:
			l.stats.DNSIgnored++
			return
		}
		t.s[k].used, t.s[k].addr = true, a
		l.changed()
	}
	s := &t.s[k]
	s.until = end
	if end.IsZero() {
		l.q.Stop(&s.t)
	} else {
		l.q.Schedule(&s.t, end)
	}
}

// DNSServer is a recursive DNS server learned from router
// advertisements.
type DNSServer struct {
	Addr  inet.Addr
	Until time.Time // zero: forever
}

// DNSServers appends the RDNSS servers known now to dst.
func (l *Layer) DNSServers(dst []DNSServer) []DNSServer {
	for k := range l.dns.s {
		if s := &l.dns.s[k]; s.used {
			dst = append(dst, DNSServer{s.addr, s.until})
		}
	}
	return dst
}
