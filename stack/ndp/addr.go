package ndp

import (
	"net/netip"

	"github.com/mirago/mirago/stack/inet"
)

// Well-known IPv6 addresses (RFC 4291 §2.7.1, RFC 3810 §11).
var (
	AllNodes      = inet.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x01}) // ff02::1
	AllRouters    = inet.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x02}) // ff02::2
	AllMLDv2Rtrs  = inet.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x16}) // ff02::16
	linkLocalBase = [8]byte{0xfe, 0x80}
)

// IsLinkLocal reports whether a is a link-local unicast address
// (fe80::/10, RFC 4291 §2.5.6).
func IsLinkLocal(a inet.Addr) bool {
	b := a.As16()
	return b[0] == 0xfe && b[1]&0xc0 == 0x80
}

// IsSolicitedNode reports whether a is a solicited-node multicast address
// (ff02::1:ff00:0/104, RFC 4291 §2.7.1).
func IsSolicitedNode(a inet.Addr) bool {
	b := a.As16()
	return [13]byte(b[:13]) == [13]byte{0xff, 0x02, 11: 0x01, 12: 0xff}
}

// SolicitedNode returns the solicited-node multicast address of a:
// ff02::1:ff00:0 with a's low 24 bits (RFC 4291 §2.7.1).
func SolicitedNode(a inet.Addr) inet.Addr {
	b := a.As16()
	return inet.AddrFrom16([16]byte{0xff, 0x02, 11: 0x01, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]})
}

// MulticastMAC maps an IPv6 multicast address to its Ethernet group
// address, 33:33 and the address's low 32 bits (RFC 2464 §7).
func MulticastMAC(a inet.Addr) inet.MAC {
	b := a.As16()
	return inet.MAC{0x33, 0x33, b[12], b[13], b[14], b[15]}
}

// LinkLocal returns fe80::/64 with the interface identifier iid.
func LinkLocal(iid [8]byte) inet.Addr { return withIID(linkLocalBase, iid) }

// withIID returns the /64 prefix p with the interface identifier iid.
func withIID(p [8]byte, iid [8]byte) inet.Addr {
	var b [16]byte
	copy(b[:8], p[:])
	copy(b[8:], iid[:])
	return inet.AddrFrom16(b)
}

// EUI64 is the modified EUI-64 interface identifier of an Ethernet MAC:
// ff:fe inserted in the middle and the universal/local bit inverted
// (RFC 4291 Appendix A, RFC 2464 §4).
func EUI64(m inet.MAC) [8]byte {
	return [8]byte{m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]}
}

// prefix is an IPv6 prefix held without netip's zone pointer: the
// address with the bits past len cleared.
type prefix struct {
	addr inet.Addr
	len  uint8
}

// makePrefix masks a to its first n bits.
func makePrefix(a inet.Addr, n uint8) prefix {
	if n > 128 {
		n = 128
	}
	b := a.As16()
	for i := range b {
		switch {
		case int(n) >= 8*(i+1):
		case int(n) <= 8*i:
			b[i] = 0
		default:
			b[i] &= ^byte(0xff >> (n - uint8(8*i)))
		}
	}
	return prefix{inet.AddrFrom16(b), n}
}

// contains reports whether a is in p.
func (p prefix) contains(a inet.Addr) bool { return makePrefix(a, p.len).addr == p.addr }

// Netip returns p as a netip.Prefix.
func (p prefix) Netip() netip.Prefix { return netip.PrefixFrom(p.addr.Netip(), int(p.len)) }

// reservedIID reports whether iid is one RFC 5453 reserves (the
// subnet-router anycast all-zero identifier, the reserved subnet anycast
// range fdff:ffff:ffff:ff80-fdff:ffff:ffff:ffff, and
// 0200:5eff:fe00:0000-0200:5eff:feff:ffff, proxy mobile IPv6's among
// them); RFC 7217 §5 tries another identifier in their place.
func reservedIID(iid [8]byte) bool {
	switch {
	case iid == [8]byte{}:
		return true
	case [7]byte(iid[:7]) == [7]byte{0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff} && iid[7] >= 0x80:
		return true
	case [5]byte(iid[:5]) == [5]byte{0x02, 0x00, 0x5e, 0xff, 0xfe}:
		return true
	}
	return false
}
