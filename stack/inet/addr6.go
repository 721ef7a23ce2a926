package inet

import (
	"errors"
	"net/netip"
	"strconv"
)

// Well-known IPv6 addresses (RFC 4291 §2.5, §2.7.1).
var (
	IPv6Unspecified = Addr{}                                   // ::
	IPv6Loopback    = Addr{b: [16]byte{15: 1}}                 // ::1
	IPv6AllNodes    = Addr{b: [16]byte{0: 0xff, 1: 2, 15: 1}}  // ff02::1
	IPv6AllRouters  = Addr{b: [16]byte{0: 0xff, 1: 2, 15: 2}}  // ff02::2
	IPv6AllMLDv2    = Addr{b: [16]byte{0: 0xff, 1: 2, 15: 22}} // ff02::16, MLDv2-capable routers (RFC 3810 §5.2.14)
)

// MustParseAddr parses an IPv4 or IPv6 address and panics on error; for
// tests and constants only.
func MustParseAddr(s string) Addr {
	return AddrFromNetip(netip.MustParseAddr(s))
}

// Scopes (RFC 4291 §2.7, RFC 6724 §3.1): a multicast address's scope
// field, and the scope RFC 6724 gives unicast addresses.
const (
	ScopeInterfaceLocal uint8 = 0x1
	ScopeLinkLocal      uint8 = 0x2
	ScopeAdminLocal     uint8 = 0x4
	ScopeSiteLocal      uint8 = 0x5
	ScopeOrgLocal       uint8 = 0x8
	ScopeGlobal         uint8 = 0xe
)

// Scope is a's scope (RFC 6724 §3.1): a multicast address's scope field;
// link-local for fe80::/10 and for the loopback address; global for every
// other unicast address (IPv4 ones included, as RFC 6724 maps them:
// 169.254/16 and 127/8 link-local).
func (a Addr) Scope() uint8 {
	switch {
	case a.Is4():
		if v := a.As4(); v[0] == 127 || v[0] == 169 && v[1] == 254 {
			return ScopeLinkLocal
		}
		return ScopeGlobal
	case a.b[0] == 0xff:
		return a.b[1] & 0xf
	case a.IsLinkLocalUnicast(), a == IPv6Loopback:
		return ScopeLinkLocal
	}
	return ScopeGlobal
}

// IsLinkLocalUnicast reports whether a is in fe80::/10 (RFC 4291 §2.5.6).
func (a Addr) IsLinkLocalUnicast() bool { return a.b[0] == 0xfe && a.b[1]&0xc0 == 0x80 }

// IsSolicitedNode reports whether a is in ff02::1:ff00:0/104 (RFC 4291
// §2.7.1).
func (a Addr) IsSolicitedNode() bool {
	return [13]byte(a.b[:13]) == [13]byte{0: 0xff, 1: 2, 11: 1, 12: 0xff}
}

// SolicitedNode returns the solicited-node multicast address of a:
// ff02::1:ff00:0 with a's low 24 bits (RFC 4291 §2.7.1).
func SolicitedNode(a Addr) Addr {
	return Addr{b: [16]byte{0: 0xff, 1: 2, 11: 1, 12: 0xff, 13: a.b[13], 14: a.b[14], 15: a.b[15]}}
}

// MulticastMAC returns the Ethernet group address an IPv6 multicast a is
// sent to: 33:33 and a's low 32 bits (RFC 2464 §7).
func MulticastMAC(a Addr) MAC {
	return MAC{0x33, 0x33, a.b[12], a.b[13], a.b[14], a.b[15]}
}

// Prefix6 is an IPv6 address with a prefix length, e.g. 2001:db8::7/64:
// an address of ours with its on-link prefix, or a prefix alone.
type Prefix6 struct {
	Addr Addr
	Bits int
}

// ParsePrefix6 parses CIDR notation such as "2001:db8::7/64".
func ParsePrefix6(s string) (Prefix6, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return Prefix6{}, err
	}
	if !p.Addr().Is6() || p.Addr().Is4In6() {
		return Prefix6{}, errors.New("inet: " + strconv.Quote(s) + " is not an IPv6 prefix")
	}
	return Prefix6{Addr: AddrFromNetip(p.Addr()), Bits: p.Bits()}, nil
}

// Contains reports whether a's first Bits bits are p's.
func (p Prefix6) Contains(a Addr) bool { return CommonPrefixLen(p.Addr, a) >= p.Bits }

// Masked returns p with the bits after Bits cleared.
func (p Prefix6) Masked() Prefix6 {
	b := p.Addr.b
	for i := range b {
		switch n := p.Bits - 8*i; {
		case n <= 0:
			b[i] = 0
		case n < 8:
			b[i] &= ^byte(0xff >> n)
		}
	}
	return Prefix6{Addr: Addr{b}, Bits: p.Bits}
}

func (p Prefix6) String() string { return p.Addr.String() + "/" + strconv.Itoa(p.Bits) }

// CommonPrefixLen is the number of leading bits a and b share (RFC 6724
// §2.2), 0..128.
func CommonPrefixLen(a, b Addr) int {
	for i := range a.b {
		if x := a.b[i] ^ b.b[i]; x != 0 {
			n := 0
			for x&0x80 == 0 {
				x <<= 1
				n++
			}
			return 8*i + n
		}
	}
	return 128
}
