package netcfg

import (
	"net/netip"
	"slices"
)

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
