// Package gvnet sets up gVisor's netstack (gvisor.dev/gvisor/pkg/tcpip) for
// the side-by-side benchmarks in package bench: two gVisor stacks joined by
// an in-memory Ethernet link (NewPair), or one gVisor stack on a Linux TAP
// (bench's TAP workload builds it with NewStack on gVisor's fdbased
// endpoint).
//
// Every stack is IPv4 + ARP over Ethernet, MTU 1500, TCP with CUBIC;
// given IPv6 prefixes, IPv6 (with gVisor's NDP resolving neighbors, no
// DAD) instead. How
// TCP is tuned and how the two stacks are linked are the two axes of a
// Config, so that the benchmark can run gVisor in each way its users run
// it and report the best:
//
//   - TCPFixed: 256 KiB send and receive buffers (mirago's default), set as
//     the default and the maximum, receive-buffer auto-tuning off, SACK and
//     Nagle on (mirago's defaults). The configuration the benchmark used
//     first.
//
//   - TCPDefaults: gVisor's own defaults, untouched: buffers 4 KiB..1 MiB
//     (default)..4 MiB, receive-buffer auto-tuning on, SACK on, Nagle off,
//     RACK loss detection.
//
//   - LinkRing: Link, a LinkEndpoint pair built like drivers/memlink
//     (bounded 256-frame rings, one delivery goroutine per end).
//
//   - LinkChannel: gVisor's own link/channel endpoint on each stack and one
//     forwarder goroutine per direction that blocks in ReadContext and
//     injects each frame into the other stack, the way wireguard-go's
//     netstack and tailscale-style code wire a gVisor stack to a peer.
//
//   - LinkVeth: gVisor's own link/veth pair, which carries gVisor GSO
//     segments of up to 64 KiB whole and lets the receiver skip checksum
//     verification, as Linux's veth does (and as memlink does with
//     Config.Offload).
package gvnet

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// BufferSize is the TCP send and receive buffer size of TCPFixed,
// mirago's default.
const BufferSize = 256 << 10

const nicID = 1

// TCPConfig says how a stack's TCP is tuned.
type TCPConfig int

const (
	// TCPFixed: 256 KiB buffers (default = maximum), receive-buffer
	// auto-tuning off, SACK and Nagle on.
	TCPFixed TCPConfig = iota
	// TCPDefaults: gVisor's defaults (1 MiB default, 4 MiB maximum,
	// auto-tuning on, SACK on, Nagle off).
	TCPDefaults
)

func (c TCPConfig) String() string {
	if c == TCPDefaults {
		return "defaults"
	}
	return "fixed"
}

// LinkKind says how the two stacks of a Pair are linked.
type LinkKind int

const (
	// LinkRing is Link: memlink's design.
	LinkRing LinkKind = iota
	// LinkChannel is gVisor's link/channel with blocking forwarders.
	LinkChannel
	// LinkVeth is gVisor's link/veth, with gVisor GSO and receive
	// checksum offload.
	LinkVeth
)

func (k LinkKind) String() string {
	switch k {
	case LinkChannel:
		return "channel"
	case LinkVeth:
		return "veth"
	}
	return "ring"
}

// Config is one way of running a Pair.
type Config struct {
	Link LinkKind
	TCP  TCPConfig
	// Capture, if set, sees every frame the link carries (Ethernet header
	// first), in delivery order, before the receiving stack does. It must
	// not keep the slice.
	Capture func(frame []byte)
}

// Name is the configuration's name in reports: "ring/fixed",
// "channel/defaults", ...
func (c Config) Name() string { return c.Link.String() + "/" + c.TCP.String() }

// Configs are every in-memory configuration, the benchmark's first one
// first.
var Configs = []Config{
	{Link: LinkRing, TCP: TCPFixed},
	{Link: LinkRing, TCP: TCPDefaults},
	{Link: LinkChannel, TCP: TCPFixed},
	{Link: LinkChannel, TCP: TCPDefaults},
	{Link: LinkVeth, TCP: TCPFixed},
	{Link: LinkVeth, TCP: TCPDefaults},
}

// Stack is one gVisor stack with one NIC.
type Stack struct {
	S     *stack.Stack
	addr  tcpip.Address
	proto tcpip.NetworkProtocolNumber // ipv4 or ipv6
}

// NewStack builds a gVisor stack on ep (a LinkEndpoint that already
// carries Ethernet frames, or one wrapped in ethernet.New) with address
// prefix p and TCP tuned as tc says: IPv4 and ARP for an IPv4 prefix,
// IPv6 (NDP resolves neighbors; DAD off, as gVisor's default) for an
// IPv6 one.
func NewStack(ep stack.LinkEndpoint, p netip.Prefix, tc TCPConfig) (*Stack, error) {
	nets, proto := []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol}, ipv4.ProtocolNumber
	if p.Addr().Is6() {
		nets, proto = []stack.NetworkProtocolFactory{ipv6.NewProtocol}, ipv6.ProtocolNumber
	}
	s := stack.New(stack.Options{
		NetworkProtocols:   nets,
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocolCUBIC},
	})
	var opts []tcpip.SettableTransportProtocolOption
	if tc == TCPFixed {
		mod := tcpip.TCPModerateReceiveBufferOption(false)
		sack := tcpip.TCPSACKEnabled(true)
		delay := tcpip.TCPDelayEnabled(true) // Nagle on, as mirago's default
		opts = append(opts,
			&tcpip.TCPSendBufferSizeRangeOption{Min: 4096, Default: BufferSize, Max: BufferSize},
			&tcpip.TCPReceiveBufferSizeRangeOption{Min: 4096, Default: BufferSize, Max: BufferSize},
			&mod, &sack, &delay)
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
	addr := tcpip.AddrFromSlice(p.Addr().AsSlice())
	pa := tcpip.ProtocolAddress{
		Protocol:          proto,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: addr, PrefixLen: p.Bits()},
	}
	if err := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
		s.Close()
		return nil, fmt.Errorf("gvnet: AddProtocolAddress: %s", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: nicID}})
	return &Stack{S: s, addr: addr, proto: proto}, nil
}

// Listen listens on port on the stack's address.
func (s *Stack) Listen(port uint16) (net.Listener, error) {
	return gonet.ListenTCP(s.S, tcpip.FullAddress{NIC: nicID, Port: port}, s.proto)
}

// Dial connects to raddr.
func (s *Stack) Dial(ctx context.Context, raddr netip.AddrPort) (net.Conn, error) {
	fa := tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFromSlice(raddr.Addr().AsSlice()), Port: raddr.Port()}
	return gonet.DialContextTCP(ctx, s.S, fa, s.proto)
}

// Retransmits is the number of TCP segments the stack retransmitted.
func (s *Stack) Retransmits() uint64 { return s.S.Stats().TCP.Retransmits.Value() }

// NICDrops is the number of frames the NIC dropped because the link
// endpoint had no room for them (a full channel queue).
func (s *Stack) NICDrops() uint64 {
	info, ok := s.S.NICInfo()[nicID]
	if !ok {
		return 0
	}
	return info.Stats.TxPacketsDroppedNoBufferSpace.Value()
}

// Close tears the stack down and waits for its goroutines.
func (s *Stack) Close() {
	s.S.Close()
	s.S.Wait()
}

// Pair is two gVisor stacks, A (client) and B (server), linked as its
// Config says.
type Pair struct {
	A, B   *Stack
	Config Config
	addrB  netip.Addr
	// linkDrops counts frames the link itself dropped (LinkRing: full
	// rings).
	linkDrops func() uint64
	stop      func() // stops the link's own goroutines (LinkChannel)
}

// Link MACs of A and B.
const (
	macA tcpip.LinkAddress = "\x02\x00\x00\x00\x01\x01"
	macB tcpip.LinkAddress = "\x02\x00\x00\x00\x01\x02"
)

// NewPair builds A (a) and B (b) on a fresh link of the kind c says, with
// the given IP MTU.
func NewPair(mtu int, a, b netip.Prefix, c Config) (*Pair, error) {
	var epA, epB stack.LinkEndpoint
	p := &Pair{Config: c, addrB: b.Addr(), stop: func() {}}
	switch c.Link {
	case LinkRing:
		la, lb := NewLinkPair(mtu, macA, macB)
		if c.Capture != nil {
			la.SetCapture(c.Capture)
			lb.SetCapture(c.Capture)
		}
		epA, epB = ethernet.New(la), ethernet.New(lb)
		p.linkDrops = func() uint64 { return la.Dropped.Load() + lb.Dropped.Load() }
	case LinkChannel:
		ca, cb := newChannelPair(mtu, c.Capture)
		epA, epB = ethernet.New(ca.ep), ethernet.New(cb.ep)
		p.linkDrops = func() uint64 { return ca.ep.dropped.Load() + cb.ep.dropped.Load() }
		p.stop = func() { ca.close(); cb.close() }
	case LinkVeth:
		va, vb := newVethPair(mtu)
		if c.Capture != nil {
			va.capture.Store(&captureBox{c.Capture})
			vb.capture.Store(&captureBox{c.Capture})
		}
		epA, epB = ethernet.New(va), ethernet.New(vb)
		p.linkDrops = func() uint64 { return 0 } // refused frames: the NICs count them
	default:
		return nil, fmt.Errorf("gvnet: unknown link kind %d", c.Link)
	}
	sa, err := NewStack(epA, a, c.TCP)
	if err != nil {
		epA.Close()
		epB.Close()
		p.stop()
		return nil, err
	}
	sb, err := NewStack(epB, b, c.TCP)
	if err != nil {
		sa.Close()
		epB.Close()
		p.stop()
		return nil, err
	}
	p.A, p.B = sa, sb
	return p, nil
}

// Listen listens on B.
func (p *Pair) Listen(port uint16) (net.Listener, error) { return p.B.Listen(port) }

// Dial connects from A to B's port.
func (p *Pair) Dial(ctx context.Context, port uint16) (net.Conn, error) {
	return p.A.Dial(ctx, netip.AddrPortFrom(p.addrB, port))
}

// Drops returns the frames dropped between the stacks: by the link (a
// full ring or channel queue) and by the NICs (a link that refused a frame
// with ErrNoBufferSpace).
func (p *Pair) Drops() uint64 { return p.linkDrops() + p.A.NICDrops() + p.B.NICDrops() }

// Retransmits returns the TCP segments both stacks retransmitted.
func (p *Pair) Retransmits() uint64 { return p.A.Retransmits() + p.B.Retransmits() }

// Close closes both stacks (which closes the links) and stops the link's
// goroutines.
func (p *Pair) Close() error {
	p.A.Close()
	p.B.Close()
	p.stop()
	return nil
}

// captureBox holds a capture function for atomic.Pointer.
type captureBox struct{ f func([]byte) }

// loadCapture returns the function in c, or nil.
func loadCapture(c *atomic.Pointer[captureBox]) func([]byte) {
	if b := c.Load(); b != nil {
		return b.f
	}
	return nil
}
