package dns

import (
	"context"
	"net"
	"net/netip"
)

// NetResolver returns a *net.Resolver that runs Go's built-in DNS client
// over d, so code using package net's lookups (net.Resolver.LookupHost,
// http.Transport via a custom DialContext, ...) can resolve through our
// stack. Go's client sends the queries to the server address it chose
// (from /etc/resolv.conf, or net.SetDefaultNS on tamago); d just carries
// them.
func NetResolver(d Dialer) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return nil, err
			}
			switch network {
			case "udp", "udp4", "udp6":
				return d.DialUDP(ctx, ap)
			case "tcp", "tcp4", "tcp6":
				return d.DialTCP(ctx, ap)
			}
			return nil, net.UnknownNetworkError(network)
		},
	}
}
