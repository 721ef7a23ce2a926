package udp

import (
	"encoding/binary"
	"io"
	"net/netip"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

// Address families a socket takes (Conn.fams).
const (
	takesIPv4 uint8 = 1 << iota
	takesIPv6
	takesBoth = takesIPv4 | takesIPv6
)

// portSlot holds the sockets bound to one port: one per address family
// at most, and a dual-stack socket in both (Linux's rule with
// IPV6_V6ONLY: a socket on [::] takes IPv4 too and then excludes an IPv4
// socket on the port; an IPv4 one and an IPv6-only one coexist).
type portSlot struct {
	v4, v6 *Conn
}

// sock returns the socket that takes datagrams to dst's family.
func (s portSlot) sock(dst inet.Addr) *Conn {
	if dst.Is4() {
		return s.v4
	}
	return s.v6
}

// free reports whether s has room for a socket taking fams.
func (s portSlot) free(fams uint8) bool {
	return (fams&takesIPv4 == 0 || s.v4 == nil) && (fams&takesIPv6 == 0 || s.v6 == nil)
}

// takes reports whether c sends to and receives from dst's family.
func (c *Conn) takes(dst inet.Addr) bool {
	if dst.Is4() {
		return c.fams&takesIPv4 != 0
	}
	return c.fams&takesIPv6 != 0
}

// bind registers c on port (0: pick an ephemeral port, RFC 6056 random)
// in the slots of its families. Called with the lock held.
func (l *Layer) bind(c *Conn, port uint16) error {
	if port != 0 {
		if !l.ports[port].free(c.fams) {
			return ErrPortInUse
		}
		l.take(c, port)
		return nil
	}
	n := uint32(l.cfg.EphemeralHigh-l.cfg.EphemeralLow) + 1
	var r [4]byte
	if l.rand != nil {
		_, _ = io.ReadFull(l.rand, r[:])
	}
	start := binary.BigEndian.Uint32(r[:]) % n
	for i := uint32(0); i < n; i++ {
		p := l.cfg.EphemeralLow + uint16((start+i)%n)
		if l.ports[p].free(c.fams) {
			l.take(c, p)
			return nil
		}
	}
	return ErrNoPorts
}

func (l *Layer) take(c *Conn, port uint16) {
	s := l.ports[port]
	if c.fams&takesIPv4 != 0 {
		s.v4 = c
	}
	if c.fams&takesIPv6 != 0 {
		s.v6 = c
	}
	l.ports[port] = s
	l.sockets++
	c.port = port
}

func (l *Layer) unbind(c *Conn) {
	s, ok := l.ports[c.port]
	if !ok || s.v4 != c && s.v6 != c {
		return
	}
	if s.v4 == c {
		s.v4 = nil
	}
	if s.v6 == c {
		s.v6 = nil
	}
	if s == (portSlot{}) {
		delete(l.ports, c.port)
	} else {
		l.ports[c.port] = s
	}
	l.sockets--
}

// Bind opens a socket on laddr, as BindAddr(laddr, false): the zero
// address and :: make a dual-stack socket.
func (l *Layer) Bind(laddr netip.AddrPort) (*Conn, error) { return l.BindAddr(laddr, false) }

// BindAddr opens a socket on laddr; port 0 picks a random ephemeral port.
// The address says which families the socket takes, as a Linux socket's
// with IPV6_V6ONLY set to v6only does: 0.0.0.0 (or an IPv4-mapped
// address) IPv4 only; :: or the zero netip.Addr both families, or IPv6
// only if v6only; one of our addresses only datagrams to it (and its
// family). It fails with ErrPortInUse when a socket of one of those
// families has the port, and with transport.ErrAddrFamily for an IPv4
// address with v6only.
func (l *Layer) BindAddr(laddr netip.AddrPort, v6only bool) (*Conn, error) {
	a := laddr.Addr()
	local, fams := inet.IPv6Unspecified, takesBoth
	switch {
	case !a.IsValid() || a == netip.IPv6Unspecified():
		if v6only {
			fams = takesIPv6
		}
	default:
		local = inet.AddrFromNetip(a)
		fams = takesIPv6
		if local.Is4() {
			if v6only {
				return nil, transport.ErrAddrFamily
			}
			fams = takesIPv4
		}
	}
	c := newConn(l, local, fams)
	l.lock.Lock()
	defer l.lock.Unlock()
	if err := l.bind(c, laddr.Port()); err != nil {
		return nil, err
	}
	return c, nil
}

// Dial opens a connected socket to raddr from an ephemeral port. It
// receives only datagrams from raddr, and Read/Write work without
// addresses (net.Conn). It takes raddr's family only.
func (l *Layer) Dial(raddr netip.AddrPort) (*Conn, error) {
	dst := inet.AddrFromNetip(raddr.Addr())
	l.lock.Lock()
	defer l.lock.Unlock()
	src, err := l.ip.Source(dst)
	if err != nil {
		return nil, err
	}
	fams := takesIPv4
	if !dst.Is4() {
		fams = takesIPv6
	}
	c := newConn(l, src, fams)
	c.connected = true
	c.remote, c.rport = dst, raddr.Port()
	if err := l.bind(c, 0); err != nil {
		return nil, err
	}
	return c, nil
}
