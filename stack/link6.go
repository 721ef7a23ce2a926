package stack

import (
	"errors"

	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// errNoNeighbor is returned for a unicast destination eui64Link cannot
// map to a MAC.
var errNoNeighbor = errors.New("stack: no link-layer address for the IPv6 destination")

// eui64Link is the ipv6.Link the stack uses until Neighbor Discovery
// (stack/ndp) takes its place: multicast goes to 33:33:xx:xx:xx:xx (RFC
// 2464 §7); a unicast destination whose interface identifier is a
// modified EUI-64 (RFC 4291 §2.5.1, ff:fe in its middle) goes to the MAC
// it was made from, every destination being taken as on-link; anything
// else is refused. Enough for stacks on one link that address each other
// by EUI-64 addresses, which is what the tests do.
type eui64Link struct {
	eth *ethernet.Layer
}

// Output implements ipv6.Link.
func (k eui64Link) Output(dst inet.Addr, b *pkt.Buf) error {
	a := dst.As16()
	var mac inet.MAC
	switch {
	case dst.IsMulticast():
		mac = inet.MulticastMAC(dst)
	case a[11] == 0xff && a[12] == 0xfe && a[8]&1 == 0:
		// (an identifier with the group bit set would map to a
		// multicast MAC)
		mac = inet.MAC{a[8] ^ 2, a[9], a[10], a[13], a[14], a[15]}
	default:
		return errNoNeighbor
	}
	return k.eth.Write(mac, inet.EtherTypeIPv6, b)
}

// Headroom implements ipv6.Link.
func (k eui64Link) Headroom() int { return k.eth.Headroom() }

// Offloads implements ipv6.Link: the device's.
func (k eui64Link) Offloads() netif.Offloads { return k.eth.Offloads() }

// MTU implements ipv6.Link.
func (k eui64Link) MTU() int { return k.eth.MTU() }
