package stack

import "github.com/mirago/mirago/stack/ipv6"

// Reachable reports which address families the stack can reach beyond
// its link: IPv4 once it has an address, IPv6 once it has a usable (not
// tentative) address wider than link-local scope. A name's AAAA records
// are of no use to a host with only a link-local address (RFC 6724 §5
// rule 2 would pick it as the source and no router forwards it), so
// resolvers and Happy Eyeballs ask only for the families reachable.
func (s *Stack) Reachable() (v4, v6 bool) {
	var buf [ipv6.MaxAddrs]ipv6.AddrInfo
	s.mu.Lock()
	defer s.mu.Unlock()
	v4 = !s.l.IP.Addr().Addr.IsUnspecified()
	if s.l.IPv6 == nil {
		return v4, false
	}
	for _, a := range s.l.IPv6.AddrsLocked(buf[:0]) {
		if a.State != ipv6.StateTentative && !a.Prefix.Addr.IsLinkLocalUnicast() && !a.Prefix.Addr.IsLoopback() {
			return v4, true
		}
	}
	return v4, false
}
