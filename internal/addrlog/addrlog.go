//go:build !mirago_noipv6

// Package addrlog logs a stack's IPv6 addresses as they come and go (the
// host runner's and the boards' "ipv6 address" lines): each once it is
// usable, after Duplicate Address Detection, and each one lost (a
// duplicate, an expired lifetime).
package addrlog

import (
	"context"

	"github.com/mirago/mirago/logging"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ndp"
)

// Run logs s's IPv6 address changes to log until ctx ends; it returns at
// once on a stack without IPv6.
func Run(ctx context.Context, s *stack.Stack, log logging.Logger) {
	seen := map[inet.Addr]ndp.AddrStatus{}
	for {
		var cur []ndp.AddrInfo
		err := s.WaitAddrs6(ctx, func(as []ndp.AddrInfo) bool {
			if len(as) != len(seen) {
				cur = as
				return true
			}
			for _, a := range as {
				if seen[a.Prefix.Addr] != a.Status {
					cur = as
					return true
				}
			}
			return false
		})
		if err != nil {
			return
		}
		now := make(map[inet.Addr]ndp.AddrStatus, len(cur))
		for _, a := range cur {
			now[a.Prefix.Addr] = a.Status
			if seen[a.Prefix.Addr] != a.Status && a.Status != ndp.AddrTentative {
				log.Info("ipv6 address", "addr", a.Prefix.String(), "kind", a.Kind.String(), "status", a.Status.String())
			}
		}
		for a := range seen {
			if _, ok := now[a]; !ok {
				log.Info("ipv6 address gone", "addr", a.String())
			}
		}
		seen = now
	}
}
