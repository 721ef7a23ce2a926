package ipv6

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

// MaxAddrs bounds the address table: a link-local address, a few SLAAC
// and static ones.
const MaxAddrs = 16

// AddrState is an address's state (RFC 4862 §2). Neighbor Discovery sets
// it: Tentative while Duplicate Address Detection runs, Preferred, then
// Deprecated once its preferred lifetime ran out; the address is removed
// when its valid lifetime does.
type AddrState uint8

// Address states.
const (
	// StateTentative: not yet ours. Packets to it are dropped (ND's DAD
	// messages excepted, RFC 4862 §5.4), it is never a source.
	StateTentative AddrState = iota + 1
	// StatePreferred: usable for anything.
	StatePreferred
	// StateDeprecated: still ours, but avoided as the source of new
	// communication (RFC 4862 §5.5.4, RFC 6724 rule 3).
	StateDeprecated
)

func (s AddrState) String() string {
	switch s {
	case StateTentative:
		return "tentative"
	case StatePreferred:
		return "preferred"
	case StateDeprecated:
		return "deprecated"
	}
	return "invalid"
}

// AddrInfo is one of our addresses.
type AddrInfo struct {
	// Prefix is the address and its prefix length (64 for SLAAC).
	Prefix inet.Prefix6
	State  AddrState
}

type addrTable struct {
	a [MaxAddrs]AddrInfo
	n int
}

func (t *addrTable) find(a inet.Addr) int {
	for i := range t.a[:t.n] {
		if t.a[i].Prefix.Addr == a {
			return i
		}
	}
	return -1
}

// validUnicast reports whether a may be one of our addresses: IPv6
// unicast, not ::, ::1, IPv4-mapped or multicast.
func validUnicast(a inet.Addr) bool {
	return a.Is6() && !a.IsUnspecified() && !a.IsMulticast() && !a.IsLoopback()
}

// AddAddrLocked adds p.Addr, with its prefix length, in state st; for an
// address we have, it sets the prefix length and the state. It returns
// ErrAddr for an address that cannot be ours (not IPv6 unicast, ::, ::1,
// a bad prefix length or state) and ErrTooManyAddrs when MaxAddrs are
// there. It does not join the solicited-node group: Neighbor Discovery
// does, before DAD (RFC 4862 §5.4.2).
func (l *Layer) AddAddrLocked(p inet.Prefix6, st AddrState) error {
	if !validUnicast(p.Addr) || p.Bits < 0 || p.Bits > 128 || st < StateTentative || st > StateDeprecated {
		return ErrAddr
	}
	t := &l.addrs
	if i := t.find(p.Addr); i >= 0 {
		t.a[i] = AddrInfo{p, st}
		return nil
	}
	if t.n == MaxAddrs {
		return ErrTooManyAddrs
	}
	t.a[t.n] = AddrInfo{p, st}
	t.n++
	return nil
}

// RemoveAddrLocked removes a; it returns ErrNoSuchAddr if a is not ours.
func (l *Layer) RemoveAddrLocked(a inet.Addr) error {
	t := &l.addrs
	i := t.find(a)
	if i < 0 {
		return ErrNoSuchAddr
	}
	copy(t.a[i:], t.a[i+1:t.n])
	t.n--
	t.a[t.n] = AddrInfo{}
	return nil
}

// SetAddrStateLocked changes a's state; it returns ErrNoSuchAddr if a is
// not ours, ErrAddr for an invalid state.
func (l *Layer) SetAddrStateLocked(a inet.Addr, st AddrState) error {
	if st < StateTentative || st > StateDeprecated {
		return ErrAddr
	}
	i := l.addrs.find(a)
	if i < 0 {
		return ErrNoSuchAddr
	}
	l.addrs.a[i].State = st
	return nil
}

// AddrLocked returns our address a's entry; ok is false if a is not ours.
func (l *Layer) AddrLocked(a inet.Addr) (info AddrInfo, ok bool) {
	if i := l.addrs.find(a); i >= 0 {
		return l.addrs.a[i], true
	}
	return AddrInfo{}, false
}

// AddrsLocked appends our addresses to dst and returns it.
func (l *Layer) AddrsLocked(dst []AddrInfo) []AddrInfo {
	return append(dst, l.addrs.a[:l.addrs.n]...)
}

// IsLocal reports whether a is one of our addresses, in any state.
func (l *Layer) IsLocal(a inet.Addr) bool { return l.addrs.find(a) >= 0 }

// usable reports whether a is ours and not tentative: an address we
// receive on and may send from.
func (l *Layer) usable(a inet.Addr) bool {
	i := l.addrs.find(a)
	return i >= 0 && l.addrs.a[i].State != StateTentative
}

// Source returns our address for a packet to dst by RFC 6724 §5 (the
// rules that matter for one interface without home or temporary
// addresses: same address, appropriate scope, avoid deprecated, matching
// label, longest matching prefix). Tentative addresses are never chosen.
// It returns ErrNoAddress when none is usable. It implements
// transport.Network; an IPv4 dst gives transport.ErrAddrFamily.
func (l *Layer) Source(dst inet.Addr) (inet.Addr, error) {
	if !dst.Is6() {
		return inet.Addr{}, transport.ErrAddrFamily
	}
	best := -1
	t := &l.addrs
	for i := range t.a[:t.n] {
		if t.a[i].State == StateTentative {
			continue
		}
		if best < 0 || betterSource(&t.a[i], &t.a[best], dst) {
			best = i
		}
	}
	if best < 0 {
		return inet.Addr{}, ErrNoAddress
	}
	return t.a[best].Prefix.Addr, nil
}

// betterSource reports whether a is a better source than b for dst (RFC
// 6724 §5).
func betterSource(a, b *AddrInfo, dst inet.Addr) bool {
	sa, sb := a.Prefix.Addr, b.Prefix.Addr
	// Rule 1: prefer the same address.
	if sa == dst || sb == dst {
		return sa == dst
	}
	// Rule 2: prefer appropriate scope.
	if ca, cb := sa.Scope(), sb.Scope(); ca != cb {
		if ca < cb {
			return ca >= dst.Scope()
		}
		return cb < dst.Scope()
	}
	// Rule 3: avoid deprecated addresses.
	if da, db := a.State == StateDeprecated, b.State == StateDeprecated; da != db {
		return db
	}
	// Rule 6: prefer matching label.
	if ld := label(dst); (label(sa) == ld) != (label(sb) == ld) {
		return label(sa) == ld
	}
	// Rule 8: use the longest matching prefix, up to the source's prefix
	// length.
	return min(inet.CommonPrefixLen(sa, dst), a.Prefix.Bits) > min(inet.CommonPrefixLen(sb, dst), b.Prefix.Bits)
}

// label is a's label in RFC 6724 §2.1's default policy table.
func label(a inet.Addr) uint8 {
	b := a.As16()
	switch {
	case a == inet.IPv6Loopback:
		return 0
	case a.Is4():
		return 4
	case b[0]&0xfe == 0xfc: // fc00::/7, unique local
		return 13
	case b[0] == 0x20 && b[1] == 0x02: // 2002::/16, 6to4
		return 2
	case b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0: // 2001::/32, Teredo
		return 5
	case b[0] == 0xfe && b[1]&0xc0 == 0xc0: // fec0::/10, site-local
		return 11
	case b[0] == 0x3f && b[1] == 0xfe: // 3ffe::/16, 6bone
		return 12
	case [12]byte(b[:12]) == [12]byte{}: // ::/96, IPv4-compatible
		return 3
	}
	return 1
}
