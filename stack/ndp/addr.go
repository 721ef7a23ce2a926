package ndp

import "github.com/mirago/mirago/stack/inet"

// linkLocalBase is fe80::/64 (RFC 4291 §2.5.6).
var linkLocalBase = [8]byte{0xfe, 0x80}

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
