//go:build !mirago_noipv6

package netcfg

import (
	"net/netip"

	"github.com/mirago/mirago/stack"
)

// RDNSSServers returns a Resolver.Servers function for the recursive DNS
// servers the stack learned from router advertisements (RDNSS, RFC 8106;
// stack.Stack.DNSServers6), at port 53, in the order the router gave
// them; expired ones are gone.
func RDNSSServers(s *stack.Stack) func() []netip.AddrPort {
	return func() []netip.AddrPort {
		var out []netip.AddrPort
		for _, d := range s.DNSServers6() {
			out = append(out, d.Addr.AddrPort(53))
		}
		return out
	}
}
