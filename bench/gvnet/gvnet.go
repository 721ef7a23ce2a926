// Package gvnet sets up gVisor's netstack (gvisor.dev/gvisor/pkg/tcpip) for
// the side-by-side benchmarks in package bench: two gVisor stacks joined by
// an in-memory Ethernet link that works like drivers/memlink (see Link), or
// one gVisor stack on a Linux TAP (see OpenTAP).
//
// The stacks are configured like mirago's defaults where gVisor lets us:
// IPv4 + ARP over Ethernet, MTU 1500, TCP with CUBIC, SACK, Nagle on, and
// fixed 256 KiB send and receive buffers (receive-buffer auto-tuning off,
// since mirago's advertised window is its configured RecvBuffer).
package gvnet

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// BufferSize is the TCP send and receive buffer size, mirago's default.
const BufferSize = 256 << 10

const nicID = 1

var DiagModerate, DiagNagle, DiagDefaults = false, true, false

// Stack is one gVisor stack with one NIC.
type Stack struct {
	S    *stack.Stack
	addr tcpip.Address
}

// NewStack builds a gVisor stack on ep (a LinkEndpoint that already
// carries Ethernet frames, or one wrapped in ethernet.New) with address
// prefix p.
func NewStack(ep stack.LinkEndpoint, p netip.Prefix) (*Stack, error) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocolCUBIC},
	})
	opts := []tcpip.SettableTransportProtocolOption{
		&tcpip.TCPSendBufferSizeRangeOption{Min: 4096, Default: BufferSize, Max: BufferSize},
		&tcpip.TCPReceiveBufferSizeRangeOption{Min: 4096, Default: BufferSize, Max: BufferSize},
	}
	mod := tcpip.TCPModerateReceiveBufferOption(DiagModerate)
	sack := tcpip.TCPSACKEnabled(true)
	delay := tcpip.TCPDelayEnabled(DiagNagle) // Nagle on, as mirago's default
	opts = append(opts, &mod, &sack, &delay)
	if DiagDefaults {
		opts = opts[2:]
	}
	for _, o := range opts {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, o); err != nil {
			s.Close()
			return nil, fmt.Errorf("gvnet: tcp option %T: %s", o, err)
		}
	}
	if err := s.CreateNIC(nicID, ep); err != nil {
		s.Close()
		return nil, fmt.Errorf("gvnet: CreateNIC: %s", err)
	}
	addr := tcpip.AddrFrom4(p.Addr().As4())
	pa := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: addr, PrefixLen: p.Bits()},
	}
	if err := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
		s.Close()
		return nil, fmt.Errorf("gvnet: AddProtocolAddress: %s", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: nicID}})
	return &Stack{S: s, addr: addr}, nil
}

// Listen listens on port on the stack's address.
func (s *Stack) Listen(port uint16) (net.Listener, error) {
	return gonet.ListenTCP(s.S, tcpip.FullAddress{NIC: nicID, Port: port}, ipv4.ProtocolNumber)
}

// Dial connects to raddr.
func (s *Stack) Dial(ctx context.Context, raddr netip.AddrPort) (net.Conn, error) {
	fa := tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(raddr.Addr().As4()), Port: raddr.Port()}
	return gonet.DialContextTCP(ctx, s.S, fa, ipv4.ProtocolNumber)
}

// Close tears the stack down and waits for its goroutines.
func (s *Stack) Close() {
	s.S.Close()
	s.S.Wait()
}

// Pair is two gVisor stacks, A (client) and B (server), on one Link pair.
type Pair struct {
	A, B   *Stack
	LA, LB *Link
	addrB  netip.Addr
}

// NewPair builds A (a) and B (b) on a fresh link with the given IP MTU.
func NewPair(mtu int, a, b netip.Prefix) (*Pair, error) {
	la, lb := NewLinkPair(mtu, "\x02\x00\x00\x00\x01\x01", "\x02\x00\x00\x00\x01\x02")
	sa, err := NewStack(ethernet.New(la), a)
	if err != nil {
		la.Close()
		lb.Close()
		return nil, err
	}
	sb, err := NewStack(ethernet.New(lb), b)
	if err != nil {
		sa.Close()
		lb.Close()
		return nil, err
	}
	return &Pair{A: sa, B: sb, LA: la, LB: lb, addrB: b.Addr()}, nil
}

// Listen listens on B.
func (p *Pair) Listen(port uint16) (net.Listener, error) { return p.B.Listen(port) }

// Dial connects from A to B's port.
func (p *Pair) Dial(ctx context.Context, port uint16) (net.Conn, error) {
	return p.A.Dial(ctx, netip.AddrPortFrom(p.addrB, port))
}

// Drops returns the frames the link dropped (full rings).
func (p *Pair) Drops() uint64 { return p.LA.Dropped.Load() + p.LB.Dropped.Load() }

// Close closes both stacks (which closes the links).
func (p *Pair) Close() error {
	p.A.Close()
	p.B.Close()
	return nil
}
