package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// upstreamResolver turns a name:port upstream into an address. It is the
// hook for the DNS resolver (stack/dns): set it, typically from the app's
// main before Run, to a function that resolves over our stack, e.g.
//
//	upstreamResolver = func(ctx context.Context, hostport string) (netip.AddrPort, error) {
//		return dnsResolveHostPort(ctx, s, hostport)
//	}
//
// It is called for every connection (so DNS changes are followed), under
// the connect timeout. While it is nil only IP:port upstreams are
// accepted, and a name is refused at start-up. Config.Resolve, when set,
// takes precedence for one proxy.
var upstreamResolver func(ctx context.Context, hostport string) (netip.AddrPort, error)

// checkUpstream validates a HOST:PORT upstream at start-up; names need a
// resolver.
func checkUpstream(hostport string, resolve func(context.Context, string) (netip.AddrPort, error)) error {
	if hostport == "" {
		return fmt.Errorf("missing -upstream HOST:PORT")
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("bad -upstream %q: want HOST:PORT", hostport)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("bad -upstream %q: port must be 1-65535", hostport)
	}
	if host == "" {
		return fmt.Errorf("bad -upstream %q: empty host", hostport)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Is4() || a.IsUnspecified() || a.IsMulticast() {
			return fmt.Errorf("bad -upstream %q: not a unicast IPv4 address", hostport)
		}
		return nil
	}
	if resolve == nil {
		return fmt.Errorf("bad -upstream %q: names need a DNS resolver, which this build lacks; give IP:PORT", hostport)
	}
	return nil
}

// resolveUpstream returns the address of hostport: an IP:port literal
// directly, a name through resolve.
func resolveUpstream(ctx context.Context, hostport string, resolve func(context.Context, string) (netip.AddrPort, error)) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap, nil
	}
	if resolve == nil {
		return netip.AddrPort{}, fmt.Errorf("upstream %q: no resolver for names", hostport)
	}
	return resolve(ctx, hostport)
}
