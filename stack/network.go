package stack

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

// network is the transport.Network TCP and UDP send through: it
// dispatches each call by address family to that family's network layer.
// Today that is IPv4 alone; an address of another family gets
// transport.ErrAddrFamily. IPv6 adds its layer here.
type network struct {
	v4 *ipv4.Layer
}

var _ transport.Network = (*network)(nil)

// Write implements transport.Network.
func (n *network) Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	if dst.Is4() {
		return n.v4.Write(src, dst, proto, b, o)
	}
	return transport.ErrAddrFamily
}

// Headroom implements transport.Network: the largest of the families'.
func (n *network) Headroom() int { return n.v4.Headroom() }

// Offloads implements transport.Network: one device under every family.
func (n *network) Offloads() netif.Offloads { return n.v4.Offloads() }

// MTU implements transport.Network.
func (n *network) MTU(dst inet.Addr) int { return n.v4.MTU(dst) }

// Source implements transport.Network.
func (n *network) Source(dst inet.Addr) (inet.Addr, error) {
	if dst.Is4() {
		return n.v4.Source(dst)
	}
	return inet.Addr{}, transport.ErrAddrFamily
}

// PortUnreachable implements transport.Network: the layer that delivered
// p answers it.
func (n *network) PortUnreachable(p *transport.Packet) {
	if p.Src.Is4() {
		n.v4.PortUnreachable(p)
	}
}
