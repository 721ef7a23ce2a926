package enet

// The multicast group filter: the ENET accepts a multicast frame when
// the bit its destination hashes to is set in the 64-bit group hash
// table GAUR:GALR (22.5.25 and 22.5.26, IMX6ULLRM). The table is zero
// after reset and tamago's Init leaves it so: without this, the MAC
// drops every multicast frame, Neighbor Discovery's among them.

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

var _ netif.MulticastFilter = (*Device)(nil)

// SetMulticast implements netif.MulticastFilter: it sets the hash bit of
// every group (a hash filter also passes groups that share a bit; the
// Ethernet layer drops them).
func (d *Device) SetMulticast(groups []inet.MAC) error {
	high, low := groupHash(groups)
	d.port.SetGroupHash(high, low)
	return nil
}

// groupHash is the table for groups: the MAC takes the top six bits of
// the destination's CRC-32 (IEEE 802.3, reflected, without the final
// complement, as Linux's ether_crc_le) as the bit number, 32-63 in
// GAUR, 0-31 in GALR (as Linux's fec driver, set_multicast_list).
func groupHash(groups []inet.MAC) (high, low uint32) {
	for _, m := range groups {
		h := crc32le(m[:]) >> 26
		if h > 31 {
			high |= 1 << (h - 32)
		} else {
			low |= 1 << h
		}
	}
	return high, low
}

// crc32le is the reflected CRC-32 (polynomial 0xedb88320) from all ones,
// not complemented at the end. Six bytes a group change: bitwise is
// enough, and keeps hash/crc32's tables out of the image.
func crc32le(b []byte) uint32 {
	crc := ^uint32(0)
	for _, c := range b {
		crc ^= uint32(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xedb88320
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}
