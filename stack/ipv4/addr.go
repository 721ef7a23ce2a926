package ipv4

import (
	"errors"
	"net/netip"
	"strconv"
)

// Addr is an IPv4 address in network byte order. It is comparable and
// cheap to hash, which keeps demultiplexing tables fast.
type Addr [4]byte

// Well-known addresses.
var (
	Unspecified = Addr{0, 0, 0, 0}
	Broadcast   = Addr{255, 255, 255, 255}
)

// AddrFrom converts a netip.Addr; ok is false unless a is IPv4 (or
// IPv4-mapped IPv6).
func AddrFrom(a netip.Addr) (Addr, bool) {
	a = a.Unmap()
	if !a.Is4() {
		return Addr{}, false
	}
	return Addr(a.As4()), true
}

// MustParse parses a dotted quad and panics on error; for tests and
// constants only.
func MustParse(s string) Addr {
	a, err := ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

// ParseAddr parses a dotted-quad IPv4 address.
func ParseAddr(s string) (Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Addr{}, err
	}
	v, ok := AddrFrom(a)
	if !ok {
		return Addr{}, errors.New("ipv4: " + strconv.Quote(s) + " is not an IPv4 address")
	}
	return v, nil
}

// Netip converts a to a netip.Addr.
func (a Addr) Netip() netip.Addr { return netip.AddrFrom4(a) }

func (a Addr) String() string { return a.Netip().String() }

// IsUnspecified reports whether a is 0.0.0.0.
func (a Addr) IsUnspecified() bool { return a == Unspecified }

// IsBroadcast reports whether a is the limited broadcast 255.255.255.255.
func (a Addr) IsBroadcast() bool { return a == Broadcast }

// IsMulticast reports whether a is in 224.0.0.0/4.
func (a Addr) IsMulticast() bool { return a[0]&0xf0 == 0xe0 }

// IsReserved reports whether a is in 240.0.0.0/4, the former class E
// "reserved for future use" (RFC 1112 §4; RFC 6890 registry: not a valid
// source, not forwardable). It includes the limited broadcast
// 255.255.255.255.
func (a Addr) IsReserved() bool { return a[0]&0xf0 == 0xf0 }

// IsLoopback reports whether a is in 127.0.0.0/8.
func (a Addr) IsLoopback() bool { return a[0] == 127 }

// Uint32 returns a as a big-endian integer.
func (a Addr) Uint32() uint32 {
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

// Prefix is an address with its on-link prefix length, e.g. 10.0.2.15/24.
type Prefix struct {
	Addr Addr
	Bits int
}

// ParsePrefix parses CIDR notation such as "10.0.2.15/24".
func ParsePrefix(s string) (Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return Prefix{}, err
	}
	a, ok := AddrFrom(p.Addr())
	if !ok {
		return Prefix{}, errors.New("ipv4: " + strconv.Quote(s) + " is not an IPv4 prefix")
	}
	return Prefix{Addr: a, Bits: p.Bits()}, nil
}

// Mask returns the netmask as a big-endian integer.
func (p Prefix) Mask() uint32 {
	if p.Bits <= 0 {
		return 0
	}
	if p.Bits >= 32 {
		return 0xffffffff
	}
	return ^uint32(0) << (32 - p.Bits)
}

// Contains reports whether a is on p's subnet.
func (p Prefix) Contains(a Addr) bool {
	m := p.Mask()
	return a.Uint32()&m == p.Addr.Uint32()&m
}

// SubnetBroadcast returns the directed broadcast address of p's subnet.
func (p Prefix) SubnetBroadcast() Addr {
	v := p.Addr.Uint32() | ^p.Mask()
	return Addr{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

func (p Prefix) String() string { return p.Addr.String() + "/" + strconv.Itoa(p.Bits) }
