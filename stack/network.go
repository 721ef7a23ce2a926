package stack

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

// network is the transport.Network TCP and UDP send through: it
// dispatches each call by address family to that family's network layer
// (IPv4-mapped inet.Addr values are IPv4, the rest IPv6). With IPv6
// turned off (Config.DisableIPv6, or not built in) v6 is nil and IPv6
// addresses get transport.ErrAddrFamily.
type network struct {
	v4 *ipv4.Layer
	v6 transport.Network // the IPv6 layer, or nil
}

var _ transport.Network = (*network)(nil)

// Write implements transport.Network.
func (n *network) Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	if dst.Is4() {
		return n.v4.Write(src, dst, proto, b, o)
	}
	if n.v6 != nil {
		return n.v6.Write(src, dst, proto, b, o)
	}
	return transport.ErrAddrFamily
}

// Headroom implements transport.Network: the largest of the families'.
func (n *network) Headroom() int {
	if n.v6 != nil {
		return max(n.v4.Headroom(), n.v6.Headroom())
	}
	return n.v4.Headroom()
}

// Offloads implements transport.Network: one device under every family.
func (n *network) Offloads() netif.Offloads { return n.v4.Offloads() }

// MTU implements transport.Network.
func (n *network) MTU(dst inet.Addr) int {
	if dst.Is6() && n.v6 != nil {
		return n.v6.MTU(dst)
	}
	return n.v4.MTU(dst)
}

// Source implements transport.Network.
func (n *network) Source(dst inet.Addr) (inet.Addr, error) {
	if dst.Is4() {
		return n.v4.Source(dst)
	}
	if n.v6 != nil {
		return n.v6.Source(dst)
	}
	return inet.Addr{}, transport.ErrAddrFamily
}

// PortUnreachable implements transport.Network: the layer that delivered
// p answers it.
func (n *network) PortUnreachable(p *transport.Packet) {
	if p.Src.Is4() {
		n.v4.PortUnreachable(p)
	} else if n.v6 != nil {
		n.v6.PortUnreachable(p)
	}
}
