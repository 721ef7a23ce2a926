// Package transport is the seam between the network layers (ipv4,
// ipv6) and the protocols above them (icmp, udp, tcp), in a
// family-neutral form: addresses are inet.Addr, and a received ICMP error
// arrives already classified as an ErrorKind.
//
// Inbound, a network layer hands each datagram to the Receiver registered
// for its protocol number (Deliver) and each ICMP error to the Receiver of
// the protocol it quotes (Error). Outbound, TCP and UDP send through one
// Network; stack.New registers every Receiver and gives the transports a
// Network that dispatches by address family. Everything here runs with the
// stack lock held (docs/INTERNALS.md). Model: gVisor's
// TransportEndpoint.HandlePacket, smoltcp's single dispatch in its
// interface module.
package transport

import (
	"syscall"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// ErrAddrFamily is returned for an address of a family the stack has no
// network layer for.
var ErrAddrFamily = &Error{Msg: "address family not supported", Errno: syscall.EAFNOSUPPORT}

// Receiver is a protocol above the network layer: TCP, UDP and ICMP each
// implement it.
type Receiver interface {
	// Deliver hands up one datagram; p and its slices are valid only
	// during the call.
	Deliver(p *Packet)
	// Error reports an ICMP error quoting a datagram of this protocol
	// that we sent; e and its slices are valid only during the call.
	Error(e *ControlError)
}

// Packet is one received datagram as a network layer hands it up. The
// layer reuses one Packet; nothing in it may be kept after Deliver returns.
type Packet struct {
	Src, Dst inet.Addr
	// Header is the whole datagram as received (reassembled if it was
	// fragmented), network header first: what an ICMP error about it
	// quotes (Network.PortUnreachable).
	Header []byte
	// Payload is the transport header and data.
	Payload []byte
	// Broadcast is set for a datagram to a broadcast address or in a
	// link-layer broadcast or multicast frame.
	Broadcast bool
	TTL       uint8 // IPv4 TTL, IPv6 hop limit
	TOS       uint8 // IPv4 TOS, IPv6 traffic class
	// CsumVerified says the device verified the transport checksum, or
	// the datagram never crossed a wire and its checksum was left
	// partial (netif.RxMeta.CsumVerified): the transport skips its check.
	CsumVerified bool
	// Fragmented is set for a datagram that came in fragments (IPv4 or
	// IPv6 reassembly) or carried an IPv6 Fragment header at all (an
	// atomic fragment, RFC 6946): Neighbor Discovery drops those (RFC
	// 6980 §5).
	Fragmented bool
}

// ErrorKind is what a received ICMP error says, whatever its family's
// type and code; the network layer maps them (for ICMPv4:
// ipv4.Layer.DeliverError).
type ErrorKind uint8

// Error kinds (RFC 1122 §4.2.3.9 and §3.2.2.1, RFC 4443 §3).
const (
	NetUnreachable   ErrorKind = iota + 1 // soft
	HostUnreachable                       // soft
	ProtoUnreachable                      // hard
	PortUnreachable                       // hard
	Prohibited                            // soft: administratively prohibited
	PacketTooBig                          // path MTU discovery (RFC 1191, RFC 8201); MTU is set
	TimeExceeded                          // soft
	ParamProblem                          // soft
	SourceQuench                          // ICMPv4 only; ignored (RFC 6633)
)

// IsUnreachable reports whether k is one of the destination unreachable
// kinds (ICMPv4 type 3, ICMPv6 type 1 and Packet Too Big's IPv4 ancestor,
// fragmentation needed).
func (k ErrorKind) IsUnreachable() bool { return k >= NetUnreachable && k <= PacketTooBig }

// ControlError is an ICMP error about a datagram we sent, as handed to the
// transport that sent it. One value is reused: nothing in it may be kept
// after Error returns.
type ControlError struct {
	Kind ErrorKind
	// MTU is the next-hop MTU of a PacketTooBig, normalised by the
	// network layer (never below its family's minimum); 0 otherwise.
	MTU int
	// From is the reporter (a router or the destination host).
	From inet.Addr
	// Src, Dst and Proto are those of the quoted datagram; Src is ours.
	Src, Dst inet.Addr
	Proto    uint8
	// Quoted is the quoted datagram's transport header and whatever
	// followed it: at least 8 bytes when the reporter complied with RFC
	// 792, but possibly fewer, so transports check its length.
	Quoted []byte
}

// WriteOptions are per-datagram output settings.
type WriteOptions struct {
	TTL          uint8 // IPv4 TTL / IPv6 hop limit; 0: the layer's default
	TOS          uint8 // IPv4 TOS / IPv6 traffic class
	DontFragment bool  // refuse (ErrMessageTooLong) rather than fragment
}

// Network is the send side the transports use. The stack gives TCP and UDP
// one that dispatches by the destination's family to that family's
// network layer; each network layer implements it for its own family too.
type Network interface {
	// Write sends b (transport header and payload, possibly with
	// attachments, with Headroom bytes free in front) from src to dst as
	// protocol proto, prepending the network header in place. An
	// unspecified src means Source(dst). It does not keep b.
	Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o WriteOptions) error
	// Headroom is what a transport reserves in front of its header: the
	// network header and everything below it.
	Headroom() int
	// MTU is the IP MTU toward dst: the largest datagram, network header
	// included, sent without fragmentation.
	MTU(dst inet.Addr) int
	// Offloads are the device's (netif.Offloads): a transport may leave
	// its checksum partial and hand down segments up to the TSO limit of
	// the destination's family, larger than MTU.
	Offloads() netif.Offloads
	// Source returns our address for a datagram to dst.
	Source(dst inet.Addr) (inet.Addr, error)
	// PortUnreachable answers the received datagram p, for which no
	// socket exists, with an ICMP port unreachable (RFC 1122 §4.1.3.1);
	// the ICMP layer applies its rules (never about a broadcast, rate
	// limit).
	PortUnreachable(p *Packet)
}

// NetworkHeaderLen is the fixed network header length of a's family (20
// for IPv4, 40 for IPv6): the difference between an MTU and the largest
// transport segment, as TCP's MSS needs it.
func NetworkHeaderLen(a inet.Addr) int {
	if a.Is4() {
		return 20
	}
	return 40
}
