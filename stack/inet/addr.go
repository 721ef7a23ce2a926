package inet

import "net/netip"

// Addr is a family-neutral IP address: the transports (TCP, UDP) key,
// store and hash their connection and socket tables with it, so one state
// machine serves IPv4 and IPv6. It holds 16 bytes, an IPv4 address in its
// IPv4-mapped form ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), like netip.Addr
// without its zone pointer: it is comparable, and a table of them holds
// no pointers for the garbage collector to scan.
//
// The zero Addr is the IPv6 unspecified address ::. IsUnspecified is true
// for it and for 0.0.0.0, so "any address" needs no family.
type Addr struct {
	b [16]byte
}

// AnyIPv4 is 0.0.0.0 as an Addr: any of our IPv4 addresses.
var AnyIPv4 = Addr{b: [16]byte{10: 0xff, 11: 0xff}}

// v4InV6Prefix is the first 12 bytes of an IPv4-mapped address.
var v4InV6Prefix = [12]byte{10: 0xff, 11: 0xff}

// AddrFrom4 returns a as an Addr.
func AddrFrom4(a Addr4) Addr {
	var v Addr
	v.b[10], v.b[11] = 0xff, 0xff
	copy(v.b[12:], a[:])
	return v
}

// AddrFrom16 returns the Addr with the 16 bytes b (network order); an
// IPv4-mapped b is an IPv4 address.
func AddrFrom16(b [16]byte) Addr { return Addr{b} }

// AddrFromNetip converts a netip.Addr, dropping any zone. An invalid
// netip.Addr gives the zero Addr; an IPv4 or IPv4-mapped one an IPv4 Addr.
func AddrFromNetip(a netip.Addr) Addr {
	if !a.IsValid() {
		return Addr{}
	}
	return Addr{a.As16()}
}

// Is4 reports whether a is an IPv4 address (held IPv4-mapped).
func (a Addr) Is4() bool { return [12]byte(a.b[:12]) == v4InV6Prefix }

// Is6 reports whether a is an IPv6 address: not Is4.
func (a Addr) Is6() bool { return !a.Is4() }

// As4 returns the IPv4 address of an Is4 a; for an IPv6 a it returns the
// last four bytes, so callers check Is4 first.
func (a Addr) As4() Addr4 { return Addr4(a.b[12:]) }

// As16 returns a's 16 bytes (IPv4 in its mapped form).
func (a Addr) As16() [16]byte { return a.b }

// Netip converts a to a netip.Addr: an IPv4 one (not 4-in-6) for Is4.
func (a Addr) Netip() netip.Addr {
	if a.Is4() {
		return netip.AddrFrom4(a.As4())
	}
	return netip.AddrFrom16(a.b)
}

// AddrPort is a and port as a netip.AddrPort.
func (a Addr) AddrPort(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(a.Netip(), port)
}

// String formats a as netip does: dotted quad for IPv4.
func (a Addr) String() string { return a.Netip().String() }

// IsUnspecified reports whether a is 0.0.0.0 or ::.
func (a Addr) IsUnspecified() bool {
	return a == Addr{} || a.Is4() && a.As4().IsUnspecified()
}

// IsMulticast reports whether a is IPv4 224.0.0.0/4 or IPv6 ff00::/8.
func (a Addr) IsMulticast() bool {
	if a.Is4() {
		return a.As4().IsMulticast()
	}
	return a.b[0] == 0xff
}

// IsLoopback reports whether a is IPv4 127.0.0.0/8 or IPv6 ::1.
func (a Addr) IsLoopback() bool {
	if a.Is4() {
		return a.As4().IsLoopback()
	}
	return a == Addr{b: [16]byte{15: 1}}
}
