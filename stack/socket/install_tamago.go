//go:build tamago

package socket

import (
	"net"

	"github.com/mirago/mirago/stack"
)

// Install makes package net use s for every TCP and UDP socket:
// net.Listen("tcp", ":80"), net.Dial, net.ListenPacket("udp", ...),
// net/http and the Go DNS resolver then run on our stack. It replaces any
// earlier net.SocketFunc.
func Install(s *stack.Stack) {
	net.SocketFunc = New(s).Socket
}
