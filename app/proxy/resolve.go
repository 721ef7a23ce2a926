package main

import (
	"context"
	"fmt"
	"net/netip"
)

// resolveUpstream returns the address of hostport: an IP:port literal
// directly, a name through resolve (Options.Resolve: the host's -dns
// servers or the DHCP lease's, over our own stack), called for every
// connection and health check so that DNS changes are followed.
func resolveUpstream(ctx context.Context, hostport string, resolve func(context.Context, string) (netip.AddrPort, error)) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap, nil
	}
	if resolve == nil {
		return netip.AddrPort{}, fmt.Errorf("upstream %q: no resolver for names", hostport)
	}
	return resolve(ctx, hostport)
}
