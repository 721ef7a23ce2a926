//go:build tamago

package dns

import (
	"net"
	"net/netip"
)

// SetNetServers points package net's built-in resolver at servers (e.g. the
// DNS servers of a DHCP lease). On GOOS=tamago package net has no
// /etc/resolv.conf and always uses its own Go resolver (hostLookupDNS); it
// asks net.SetDefaultNS's list, which defaults to 127.0.0.1:53. Its
// sockets go through net.SocketFunc, so with SocketFunc wired to our stack
// net.LookupHost, net.Dial("tcp", "name:port") and net/http resolve
// through our UDP/TCP layers. Call it again when the lease changes.
func SetNetServers(servers []netip.AddrPort) {
	ns := make([]string, 0, len(servers))
	for _, s := range servers {
		ns = append(ns, s.String())
	}
	net.SetDefaultNS(ns)
}

// UseForNet makes net.DefaultResolver dial through d instead of
// net.SocketFunc, for programs that do not set SocketFunc for UDP.
func UseForNet(d Dialer) {
	net.DefaultResolver = NetResolver(d)
}
