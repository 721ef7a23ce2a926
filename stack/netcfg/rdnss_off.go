//go:build mirago_noipv6

package netcfg

import (
	"net/netip"

	"github.com/mirago/mirago/stack"
)

// RDNSSServers returns a Resolver.Servers function that gives none: an
// image built without IPv6 (IPV6=0) learns no RDNSS servers.
func RDNSSServers(*stack.Stack) func() []netip.AddrPort {
	return func() []netip.AddrPort { return nil }
}
