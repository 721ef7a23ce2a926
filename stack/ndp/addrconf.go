package ndp

import (
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/timer"
)

// AddrKind says where one of our addresses came from.
type AddrKind uint8

// Address kinds.
const (
	KindLinkLocal AddrKind = iota + 1 // formed at Start (RFC 4862 §5.3)
	KindSLAAC                         // formed from an advertised prefix (RFC 4862 §5.5.3)
	KindStatic                        // set with AddStatic
)

func (k AddrKind) String() string {
	return [...]string{"", "link-local", "slaac", "static"}[k]
}

// AddrStatus is where one of our addresses is in its life (RFC 4862 §2).
type AddrStatus uint8

// Address statuses.
const (
	// AddrTentative: DAD runs (or waits to); the address is not usable.
	AddrTentative AddrStatus = iota + 1
	AddrPreferred
	// AddrDeprecated: its preferred lifetime ran out; still ours.
	AddrDeprecated
	// AddrDuplicate: DAD found it in use elsewhere; it is not ours and
	// is kept only to be reported (RFC 4862 §5.4.5).
	AddrDuplicate
)

func (s AddrStatus) String() string {
	return [...]string{"", "tentative", "preferred", "deprecated", "duplicate"}[s]
}

// phase is an address's step, finer than AddrStatus.
type phase uint8

const (
	phaseWaiting    phase = iota + 1 // added before Start, or in the random delay before DAD
	phaseTentative                   // DAD solicitations going out
	phasePreferred                   // assigned
	phaseDeprecated                  // assigned, preferred lifetime over
	phaseDuplicate                   // DAD failed for good
	phaseRetry                       // DAD failed; a new identifier comes after IDGenDelay (RFC 7217 §6)
)

// ownAddr is one of our addresses and its autoconfiguration state.
type ownAddr struct {
	used           bool
	addr           inet.Addr
	bits           int
	kind           AddrKind
	phase          phase
	prefix         [8]byte // the /64 an identifier was formed in (SLAAC, link-local)
	counter        uint8   // RFC 7217 DAD_Counter
	sent           int     // DAD solicitations sent
	nonce          [NonceLen]byte
	joined         bool      // its solicited-node group is joined
	inTable        bool      // it is in the IPv6 layer's table
	preferredUntil time.Time // zero: forever
	validUntil     time.Time // zero: forever
	t              timer.Entry
}

type addrList struct {
	a [MaxAddrs]ownAddr
}

func (t *addrList) init(l *Layer) {
	for k := range t.a {
		t.a[k].t.Init(func(now time.Time) { l.onAddrTimer(k, now) })
	}
}

// find returns the slot of a, in any phase, or -1.
func (t *addrList) find(a inet.Addr) int {
	for k := range t.a {
		if t.a[k].used && t.a[k].addr == a {
			return k
		}
	}
	return -1
}

func (t *addrList) free() int {
	for k := range t.a {
		if !t.a[k].used {
			return k
		}
	}
	return -1
}

func (a *ownAddr) usable() bool { return a.phase == phasePreferred || a.phase == phaseDeprecated }

// source returns hint if it is one of our usable addresses, else our
// usable link-local address, else any other usable one, preferred
// first.
func (t *addrList) source(hint inet.Addr) (inet.Addr, bool) {
	if k := t.find(hint); k >= 0 && t.a[k].usable() {
		return hint, true
	}
	if a, ok := t.linkLocal(); ok {
		return a, true
	}
	best := -1
	for k := range t.a {
		if a := &t.a[k]; a.used && a.usable() && (best < 0 || a.phase == phasePreferred) {
			best = k
		}
	}
	if best < 0 {
		return inet.Addr{}, false
	}
	return t.a[best].addr, true
}

// linkLocal returns our link-local address if it is usable.
func (t *addrList) linkLocal() (inet.Addr, bool) {
	for k := range t.a {
		if a := &t.a[k]; a.used && a.usable() && a.addr.IsLinkLocalUnicast() {
			return a.addr, true
		}
	}
	return inet.Addr{}, false
}

// until is now plus a lifetime in seconds; zero for Infinity.
func until(now time.Time, secs uint32) time.Time {
	if secs == Infinity {
		return time.Time{}
	}
	return now.Add(time.Duration(secs) * time.Second)
}

// Start begins autoconfiguration: the link-local address (RFC 4862
// §5.3) and any static address set before, DAD for them after one
// random delay below MaxRtrSolicitationDelay (§5.4.2), then router
// solicitation once the link-local address is usable (RFC 4861 §6.3.7).
func (l *Layer) Start() {
	if l.started {
		return
	}
	l.started = true
	var iid [8]byte
	var counter uint8
	if l.cfg.StableLinkLocal {
		iid, counter = l.stableIID(linkLocalBase, 0)
	} else {
		iid = EUI64(l.mac)
	}
	delay := l.randomDelay(MaxRtrSolicitationDelay)
	if k := l.addrs.free(); k >= 0 && l.addrs.find(LinkLocal(iid)) < 0 {
		l.addrs.a[k] = ownAddr{used: true, addr: LinkLocal(iid), bits: 64, kind: KindLinkLocal,
			prefix: linkLocalBase, counter: counter, t: l.addrs.a[k].t}
		l.startAddr(k, delay)
	}
	for k := range l.addrs.a {
		if a := &l.addrs.a[k]; a.used && a.phase == phaseWaiting && !a.t.Pending() {
			l.startAddr(k, delay)
		}
	}
}

// StaticFlags modify AddStatic.
type StaticFlags uint8

// NoDAD assigns a static address at once, without Duplicate Address
// Detection (as Linux's "ip addr add ... nodad"): for tests and links
// where another node cannot have it. An address of ours still in DAD
// is assigned at once too.
const NoDAD StaticFlags = 1

// AddStatic makes p.Addr one of our addresses, with p's prefix on-link
// (for a prefix length below 128), after DAD unless flags has NoDAD. The
// address never expires; RemoveStatic removes it. It returns ErrAddr for
// an address that cannot be ours and ErrTooManyAddr when the table is
// full; an address we have already is left as it is.
func (l *Layer) AddStatic(p inet.Prefix6, flags StaticFlags) error {
	if !p.Addr.Is6() || p.Addr.IsUnspecified() || p.Addr.IsMulticast() || p.Addr.IsLoopback() || p.Bits < 1 || p.Bits > 128 {
		return ErrAddr
	}
	if k := l.addrs.find(p.Addr); k >= 0 {
		if a := &l.addrs.a[k]; flags&NoDAD != 0 && (a.phase == phaseWaiting || a.phase == phaseTentative) {
			l.q.Stop(&a.t)
			l.noDAD(k)
		}
		return nil
	}
	k := l.addrs.free()
	if k < 0 {
		return ErrTooManyAddr
	}
	l.addrs.a[k] = ownAddr{used: true, addr: p.Addr, bits: p.Bits, kind: KindStatic, phase: phaseWaiting, t: l.addrs.a[k].t}
	if p.Bits < 128 && !p.Addr.IsLinkLocalUnicast() {
		l.prefixes.addStatic(p.Masked())
	}
	switch {
	case flags&NoDAD != 0:
		l.noDAD(k)
	case l.started:
		l.startAddr(k, 0)
	default:
		if err := l.ip.AddAddrLocked(inet.Prefix6{Addr: p.Addr, Bits: p.Bits}, ipv6.StateTentative); err == nil {
			l.addrs.a[k].inTable = true
		}
	}
	l.changed()
	return nil
}

// noDAD assigns address k without DAD: in the table, its group joined.
func (l *Layer) noDAD(k int) {
	a := &l.addrs.a[k]
	if !a.inTable {
		if err := l.ip.AddAddrLocked(inet.Prefix6{Addr: a.addr, Bits: a.bits}, ipv6.StateTentative); err != nil {
			l.stats.AddrRefused++
			l.clearAddr(k)
			return
		}
		a.inTable = true
	}
	if !a.joined {
		if err := l.ip.JoinGroupLocked(inet.SolicitedNode(a.addr)); err == nil {
			a.joined = true
		}
	}
	l.assigned(k)
}

// RemoveStatic removes a static address; ErrNoSuchAddr if a is not one.
func (l *Layer) RemoveStatic(a inet.Addr) error {
	k := l.addrs.find(a)
	if k < 0 || l.addrs.a[k].kind != KindStatic {
		return ErrNoSuchAddr
	}
	o := &l.addrs.a[k]
	if o.bits < 128 && !a.IsLinkLocalUnicast() {
		l.prefixes.removeStatic(inet.Prefix6{Addr: a, Bits: o.bits}.Masked())
	}
	l.removeAddr(k)
	return nil
}

// startAddr puts address k in the IPv6 layer's table as tentative and
// starts DAD after delay.
func (l *Layer) startAddr(k int, delay time.Duration) {
	a := &l.addrs.a[k]
	if !a.inTable {
		if err := l.ip.AddAddrLocked(inet.Prefix6{Addr: a.addr, Bits: a.bits}, ipv6.StateTentative); err != nil {
			l.stats.AddrRefused++
			l.clearAddr(k)
			return
		}
		a.inTable = true
	}
	if delay > 0 {
		a.phase = phaseWaiting
		l.q.After(&a.t, delay)
		return
	}
	l.beginDAD(k)
}

// beginDAD joins address k's solicited-node group and sends its first
// DAD solicitation (RFC 4862 §5.4.2); with DAD off it is assigned at
// once.
func (l *Layer) beginDAD(k int) {
	a := &l.addrs.a[k]
	a.phase = phaseTentative
	if !a.joined {
		if err := l.ip.JoinGroupLocked(inet.SolicitedNode(a.addr)); err == nil {
			a.joined = true
		}
	}
	if l.cfg.DADTransmits < 0 {
		l.assigned(k)
		return
	}
	l.stats.DADStarted++
	l.rnd.Read(a.nonce[:])
	a.sent = 1
	l.probeDAD(a.addr, a.nonce)
	l.q.After(&a.t, l.retrans)
}

// onAddrTimer runs address k's next step: the end of the delay before
// DAD, the next DAD solicitation or its end, a new identifier after a
// conflict, or a lifetime running out.
func (l *Layer) onAddrTimer(k int, now time.Time) {
	a := &l.addrs.a[k]
	if !a.used {
		return
	}
	if !a.validUntil.IsZero() && !now.Before(a.validUntil) {
		l.stats.AddrExpired++
		l.removeAddr(k)
		return
	}
	switch a.phase {
	case phaseWaiting:
		l.beginDAD(k)
	case phaseTentative:
		if a.sent < l.cfg.DADTransmits {
			a.sent++
			l.probeDAD(a.addr, a.nonce)
			l.q.Schedule(&a.t, now.Add(l.retrans))
			return
		}
		l.stats.DADSucceeded++
		l.assigned(k)
	case phaseRetry:
		iid, c := l.stableIID(a.prefix, a.counter)
		a.addr, a.counter = withIID(a.prefix, iid), c
		if l.addrs.find(a.addr) != k {
			l.clearAddr(k) // the new identifier is one we have
			return
		}
		l.startAddr(k, 0)
	case phasePreferred, phaseDeprecated:
		l.checkLifetimes(k, now)
	}
}

// assigned ends DAD for address k: it becomes preferred, or deprecated
// if its preferred lifetime already ran out.
func (l *Layer) assigned(k int) {
	a := &l.addrs.a[k]
	a.phase = phasePreferred
	l.ip.SetAddrStateLocked(a.addr, ipv6.StatePreferred)
	l.checkLifetimes(k, l.q.Now())
	if a.kind == KindLinkLocal {
		l.startSolicit()
	}
	l.changed()
}

// checkLifetimes deprecates address k if its preferred lifetime is over
// and arms its timer for the next lifetime event (RFC 4862 §5.5.4).
func (l *Layer) checkLifetimes(k int, now time.Time) {
	a := &l.addrs.a[k]
	if a.phase == phasePreferred && !a.preferredUntil.IsZero() && !now.Before(a.preferredUntil) {
		a.phase = phaseDeprecated
		l.ip.SetAddrStateLocked(a.addr, ipv6.StateDeprecated)
		l.changed()
	}
	next := a.validUntil
	if a.phase == phasePreferred && !a.preferredUntil.IsZero() && (next.IsZero() || a.preferredUntil.Before(next)) {
		next = a.preferredUntil
	}
	if next.IsZero() {
		l.q.Stop(&a.t)
	} else {
		l.q.Schedule(&a.t, next)
	}
}

// duplicate handles DAD finding address k in use elsewhere (RFC 4862
// §5.4.5): the address leaves the IPv6 layer's table and is reported; a
// stable identifier (RFC 7217 §6) is tried again with the next
// DAD_Counter, IDGenRetries times, IDGenDelay later.
func (l *Layer) duplicate(k int, from inet.MAC) {
	a := &l.addrs.a[k]
	addr := a.addr
	l.stats.DADFailed++
	l.leaveTable(k)
	stable := a.kind == KindSLAAC || a.kind == KindLinkLocal && l.cfg.StableLinkLocal
	if stable && a.counter < IDGenRetries {
		a.counter++
		a.phase = phaseRetry
		l.q.After(&a.t, IDGenDelay)
	} else {
		a.phase = phaseDuplicate
		l.q.Stop(&a.t)
		if !a.validUntil.IsZero() {
			l.q.Schedule(&a.t, a.validUntil) // a SLAAC slot goes with its prefix
		}
	}
	if a.kind == KindLinkLocal && a.phase == phaseDuplicate {
		l.startSolicit() // from ::, routers may still tell us prefixes
	}
	if l.cfg.OnDuplicate != nil {
		l.cfg.OnDuplicate(addr, from, false)
	}
	l.changed()
}

// leaveTable takes address k out of the IPv6 layer's table and its
// solicited-node group.
func (l *Layer) leaveTable(k int) {
	a := &l.addrs.a[k]
	if a.inTable {
		l.ip.RemoveAddrLocked(a.addr)
		a.inTable = false
	}
	if a.joined {
		l.ip.LeaveGroupLocked(inet.SolicitedNode(a.addr))
		a.joined = false
	}
}

// removeAddr removes address k altogether.
func (l *Layer) removeAddr(k int) {
	l.leaveTable(k)
	l.clearAddr(k)
	l.changed()
}

func (l *Layer) clearAddr(k int) {
	a := &l.addrs.a[k]
	l.q.Stop(&a.t)
	*a = ownAddr{t: a.t}
}

// AddrInfo is one of our addresses as Addrs reports it.
type AddrInfo struct {
	Prefix inet.Prefix6
	Kind   AddrKind
	Status AddrStatus
	// PreferredUntil and ValidUntil are when the lifetimes end; zero
	// for forever.
	PreferredUntil, ValidUntil time.Time
}

// Addrs appends our addresses to dst, duplicates among them.
func (l *Layer) Addrs(dst []AddrInfo) []AddrInfo {
	for k := range l.addrs.a {
		a := &l.addrs.a[k]
		if !a.used {
			continue
		}
		st := AddrTentative
		switch a.phase {
		case phasePreferred:
			st = AddrPreferred
		case phaseDeprecated:
			st = AddrDeprecated
		case phaseDuplicate:
			st = AddrDuplicate
		}
		dst = append(dst, AddrInfo{inet.Prefix6{Addr: a.addr, Bits: a.bits}, a.kind, st, a.preferredUntil, a.validUntil})
	}
	return dst
}

// LinkLocal returns our link-local address once DAD let it be used:
// MLD sends its reports from it (RFC 3810 §5.2.13).
func (l *Layer) LinkLocal() (inet.Addr, bool) { return l.addrs.linkLocal() }
