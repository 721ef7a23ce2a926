package netcfg

import (
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/dns"
	"github.com/mirago/mirago/stack/ipv6"
)

// Families returns the address families s can reach beyond its link,
// for dns.Resolver.Families: IPv4 once it has an address, IPv6 once it
// has a usable (not tentative) address wider than link-local scope. A
// name's AAAA records are of no use to a host with only a link-local
// address (RFC 6724 §5 rule 2 would pick it as the source, and no
// router forwards it).
func Families(s *stack.Stack) dns.Family {
	var f dns.Family
	if !s.Addr().Addr.IsUnspecified() {
		f |= dns.IPv4
	}
	var buf [ipv6.MaxAddrs]ipv6.AddrInfo
	s.Locker().Lock()
	var addrs []ipv6.AddrInfo
	if ip6 := s.LayersLocked().IPv6; ip6 != nil {
		addrs = ip6.AddrsLocked(buf[:0])
	}
	s.Locker().Unlock()
	for _, a := range addrs {
		if a.State != ipv6.StateTentative && !a.Prefix.Addr.IsLinkLocalUnicast() && !a.Prefix.Addr.IsLoopback() {
			f |= dns.IPv6
		}
	}
	return f
}
