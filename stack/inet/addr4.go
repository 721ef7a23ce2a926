package inet

import (
	"errors"
	"net/netip"
	"strconv"
)

// Addr4 is an IPv4 address in network byte order. It is comparable and
// cheap to hash; the IPv4 layer, ARP and DHCP use it. Transports use the
// family-neutral Addr.
type Addr4 [4]byte

// Well-known IPv4 addresses.
var (
	IPv4Unspecified = Addr4{0, 0, 0, 0}
	IPv4Broadcast   = Addr4{255, 255, 255, 255}
)

// Addr4From converts a netip.Addr; ok is false unless a is IPv4 (or
// IPv4-mapped IPv6).
func Addr4From(a netip.Addr) (Addr4, bool) {
	a = a.Unmap()
	if !a.Is4() {
		return Addr4{}, false
	}
	return Addr4(a.As4()), true
}

// MustParseAddr4 parses a dotted quad and panics on error; for tests and
// constants only.
func MustParseAddr4(s string) Addr4 {
	a, err := ParseAddr4(s)
	if err != nil {
		panic(err)
	}
	return a
}

// ParseAddr4 parses a dotted-quad IPv4 address.
func ParseAddr4(s string) (Addr4, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Addr4{}, err
	}
	v, ok := Addr4From(a)
	if !ok {
		return Addr4{}, errors.New("inet: " + strconv.Quote(s) + " is not an IPv4 address")
	}
	return v, nil
}

// Netip converts a to a netip.Addr.
func (a Addr4) Netip() netip.Addr { return netip.AddrFrom4(a) }

func (a Addr4) String() string { return a.Netip().String() }

// IsUnspecified reports whether a is 0.0.0.0.
func (a Addr4) IsUnspecified() bool { return a == IPv4Unspecified }

// IsBroadcast reports whether a is the limited broadcast 255.255.255.255.
func (a Addr4) IsBroadcast() bool { return a == IPv4Broadcast }

// IsMulticast reports whether a is in 224.0.0.0/4.
func (a Addr4) IsMulticast() bool { return a[0]&0xf0 == 0xe0 }

// IsReserved reports whether a is in 240.0.0.0/4, the former class E
// "reserved for future use" (RFC 1112 §4; RFC 6890 registry: not a valid
// source, not forwardable). It includes the limited broadcast
// 255.255.255.255.
func (a Addr4) IsReserved() bool { return a[0]&0xf0 == 0xf0 }

// IsLoopback reports whether a is in 127.0.0.0/8.
func (a Addr4) IsLoopback() bool { return a[0] == 127 }

// Uint32 returns a as a big-endian integer.
func (a Addr4) Uint32() uint32 {
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

// Prefix4 is an IPv4 address with its on-link prefix length, e.g.
// 10.0.2.15/24.
type Prefix4 struct {
	Addr Addr4
	Bits int
}

// ParsePrefix4 parses CIDR notation such as "10.0.2.15/24".
func ParsePrefix4(s string) (Prefix4, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return Prefix4{}, err
	}
	a, ok := Addr4From(p.Addr())
	if !ok {
		return Prefix4{}, errors.New("inet: " + strconv.Quote(s) + " is not an IPv4 prefix")
	}
	return Prefix4{Addr: a, Bits: p.Bits()}, nil
}

// Mask returns the netmask as a big-endian integer.
func (p Prefix4) Mask() uint32 {
	if p.Bits <= 0 {
		return 0
	}
	if p.Bits >= 32 {
		return 0xffffffff
	}
	return ^uint32(0) << (32 - p.Bits)
}

// Contains reports whether a is on p's subnet.
func (p Prefix4) Contains(a Addr4) bool {
	m := p.Mask()
	return a.Uint32()&m == p.Addr.Uint32()&m
}

// SubnetBroadcast returns the directed broadcast address of p's subnet.
func (p Prefix4) SubnetBroadcast() Addr4 {
	v := p.Addr.Uint32() | ^p.Mask()
	return Addr4{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

func (p Prefix4) String() string { return p.Addr.String() + "/" + strconv.Itoa(p.Bits) }
