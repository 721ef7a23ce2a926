package netcfg

import (
	"net/netip"
	"slices"

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

// JoinServers returns a Resolver.Servers function that asks each of lists
// in turn and returns their servers in that order, each once (a DHCP
// lease's, then the RDNSS ones, say). nil lists are skipped.
func JoinServers(lists ...func() []netip.AddrPort) func() []netip.AddrPort {
	return func() []netip.AddrPort {
		var out []netip.AddrPort
		for _, l := range lists {
			if l == nil {
				continue
			}
			for _, s := range l() {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
		return out
	}
}
