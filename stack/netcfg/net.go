package netcfg

import (
	"net/netip"

	"github.com/mirago/mirago/stack"
)

// netHook, when set (net_tamago.go), hands a lease's DNS servers to
// package net.
var netHook func(s *stack.Stack, servers []netip.AddrPort)
