package netcfg

import (
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/dns"
)

// Families returns the address families s can reach beyond its link
// (stack.Stack.Reachable) as a dns.Family, for dns.Resolver.Families.
func Families(s *stack.Stack) dns.Family {
	var f dns.Family
	v4, v6 := s.Reachable()
	if v4 {
		f |= dns.IPv4
	}
	if v6 {
		f |= dns.IPv6
	}
	return f
}
