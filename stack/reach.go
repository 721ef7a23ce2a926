package stack

import (
	"errors"
	"net/netip"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

// ErrNoIPv6 is returned by the IPv6 methods of a stack built with
// Config.DisableIPv6 (or without IPv6 at all: IPV6=0 images).
var ErrNoIPv6 = errors.New("stack: IPv6 is off")

// has6 reports whether the stack runs IPv6.
func (s *Stack) has6() bool { return s.network6() != nil }

// HasIPv6 reports whether the stack runs IPv6: built in (not an IPV6=0
// image) and not turned off (Config.DisableIPv6).
func (s *Stack) HasIPv6() bool { return s.has6() }

// Reachable reports which address families the stack can reach beyond
// its link: IPv4 once it has an address, IPv6 once it has a usable (not
// tentative) address wider than link-local scope. A name's AAAA records
// are of no use to a host with only a link-local address (RFC 6724 §5
// rule 2 would pick it as the source and no router forwards it), so
// resolvers and Happy Eyeballs ask only for the families reachable.
func (s *Stack) Reachable() (v4, v6 bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.l.IP.Addr().Addr.IsUnspecified(), s.reachable6Locked()
}

// Source returns our address for a packet to dst, of dst's family (RFC
// 6724 source selection for IPv6): ipv4.ErrNoAddress or
// ipv6.ErrNoAddress when we have none, transport.ErrAddrFamily for IPv6
// without it.
func (s *Stack) Source(dst inet.Addr) (inet.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if dst.Is4() {
		return s.l.IP.Source(dst)
	}
	if n := s.network6(); n != nil {
		return n.Source(dst)
	}
	return inet.Addr{}, transport.ErrAddrFamily
}

// IsAddr reports whether a is one of our addresses that we may send from:
// our IPv4 address, or one of our IPv6 addresses once Duplicate Address
// Detection let it be used.
func (s *Stack) IsAddr(a inet.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Is4() {
		return s.l.IP.IsLocal(a.As4())
	}
	return s.ours6Locked(a)
}

// OwnPrefixesLocked appends our own prefixes to dst (at most
// MaxOwnPrefixes): the subnet of our IPv4 address and the prefix of each
// usable IPv6 address (link-local included), once each. The stack lock
// is held. A proxy's default allow list is these: clients on our links.
func (s *Stack) OwnPrefixesLocked(dst []netip.Prefix) []netip.Prefix {
	if ad := s.l.IP.Addr(); !ad.Addr.IsUnspecified() && ad.Bits > 0 {
		dst = append(dst, netip.PrefixFrom(ad.Addr.Netip(), ad.Bits).Masked())
	}
	var buf [MaxOwnPrefixes]inet.Prefix6
	for _, p := range s.prefixes6Locked(buf[:0]) {
		dst = append(dst, netip.PrefixFrom(p.Addr.Netip(), p.Bits))
	}
	return dst
}
