//go:build tamago

package netcfg

import (
	"net/netip"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/dns"
)

// On tamago, package net has no /etc/resolv.conf: every lease's DNS
// servers become its name servers, and net.DefaultResolver sends its
// queries through our stack (whether or not net.SocketFunc is wired).
func init() {
	netHook = func(s *stack.Stack, servers []netip.AddrPort) {
		dns.SetNetServers(servers)
		dns.UseForNet(Dialer{Stack: s})
	}
}
