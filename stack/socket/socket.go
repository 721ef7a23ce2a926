// Package socket plugs our stack into package net on GOOS=tamago, so the
// standard library (net.Listen, net.Dial, net.ListenPacket, net/http,
// crypto/tls, the Go DNS resolver) runs on it unchanged.
//
// tamago-go's package net (src/net/net_tamago.go) has no sockets of its
// own: it calls
//
//	net.SocketFunc(ctx, network, family, sotype, laddr, raddr) (interface{}, error)
//
// and expects a net.Listener for a TCP listen, a net.PacketConn for a UDP
// listen and a net.Conn for a dial. Install (tamago only) sets SocketFunc
// to Sockets.Socket; Socket itself is plain Go and is tested on the host.
//
// How package net calls SocketFunc (tamago-go1.26.0, ipsock_posix.go and
// net_tamago.go):
//
//   - network is the one given to Dial/Listen: "tcp", "tcp4", "tcp6",
//     "udp", "udp4", "udp6"; raw IP sockets pass "ip4:proto" with
//     SOCK_RAW, Unix sockets family AF_UNIX.
//   - family comes from favoriteAddrFamily. On tamago package net takes
//     IPv4 as enabled and IPv6 and IPv4-mapped addresses as not
//     (supportsIPv4map is false), so family is AF_INET for IPv4 and
//     wildcard addresses (":80", "0.0.0.0:80"), and AF_INET6 for a
//     "tcp6"/"udp6" network or an IPv6 address, such as "[::]:80".
//   - a listen has laddr set and raddr nil; a dial has raddr set and laddr
//     nil unless a local address was asked for (a typed-nil address has
//     already been turned into a nil interface).
//   - addresses are *net.TCPAddr or *net.UDPAddr.
//
// The mapping: TCP listen -> *tcp.Listener (wrapped so that accepted
// connections have Nagle off, Go's default); TCP dial -> *tcp.Conn with
// Nagle off; UDP listen -> *udp.Conn; UDP dial -> a connected *udp.Conn
// (both net.Conn and net.PacketConn). Errors match syscall errnos with
// errors.Is: EAFNOSUPPORT for Unix sockets and for IPv6 on a stack built
// without it, ESOCKTNOSUPPORT for raw and other socket types,
// EPROTONOSUPPORT for a network that does not fit the socket type,
// EADDRNOTAVAIL for a local address that is not ours, and the TCP layer's
// own (ECONNREFUSED, EADDRINUSE, ETIMEDOUT, ...).
//
// Families, as Go's package net gives them on Linux (IPV6_V6ONLY set only
// for "tcp6"/"udp6"): "tcp4"/"udp4" are IPv4 only; "tcp6"/"udp6" IPv6
// only, so that an IPv4 and an IPv6 listener may share a port; "tcp" on a
// wildcard address (":80", "0.0.0.0:80", "[::]:80") is a dual-stack
// listener, taking IPv4 and IPv6 clients. "udp" on a wildcard address is
// dual-stack when package net gave it AF_INET6 ("[::]:53") and IPv4 only
// with AF_INET (":53"): package net turns each datagram's source into a
// sockaddr of the socket's family, and an AF_INET socket cannot carry an
// IPv6 source. A specific address takes its own family; an IPv4-mapped
// IPv6 address is IPv4. Dials go to either family; the Go resolver's
// Happy Eyeballs ("tcp" to a name with both A and AAAA records) works
// through them.
//
// Half-close: through package net, (*net.TCPConn).CloseWrite and
// CloseRead return ENOSYS on tamago (netFD.closeWrite). Code that needs
// half-close uses our flow type, *tcp.Conn from Stack.TCP, directly.
package socket

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/tcp"
	"github.com/mirago/mirago/stack/udp"
)

// Error is a socket error: an errno with the reason.
type Error struct {
	Errno  syscall.Errno
	Reason string
}

// Error implements error.
func (e *Error) Error() string { return "mirago socket: " + e.Reason + ": " + e.Errno.Error() }

// Unwrap returns the errno, so errors.Is(err, syscall.EAFNOSUPPORT) holds.
func (e *Error) Unwrap() error { return e.Errno }

func errorf(errno syscall.Errno, reason string) error { return &Error{Errno: errno, Reason: reason} }

// Sockets makes sockets on one stack.
type Sockets struct {
	Stack *stack.Stack
}

// New returns the sockets of s.
func New(s *stack.Stack) *Sockets { return &Sockets{Stack: s} }

type proto int

const (
	protoTCP proto = iota + 1
	protoUDP
)

// Socket has the signature of tamago-go's net.SocketFunc: it returns a
// net.Listener (TCP listen), net.PacketConn (UDP listen) or net.Conn
// (dial), see the package documentation.
func (ss *Sockets) Socket(ctx context.Context, network string, family, sotype int, laddr, raddr net.Addr) (interface{}, error) {
	p, err := check(network, family, sotype)
	if err != nil {
		return nil, err
	}
	var la, ra netip.AddrPort
	if laddr != nil {
		if la, err = addrPort(laddr, "local"); err != nil {
			return nil, err
		}
	}
	if raddr != nil {
		if ra, err = addrPort(raddr, "remote"); err != nil {
			return nil, err
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if (is6(la) || is6(ra) || network[len(network)-1] == '6') && !ss.hasIPv6() {
		return nil, errorf(syscall.EAFNOSUPPORT, "IPv6 is not built into this stack")
	}
	dial := raddr != nil
	switch {
	case p == protoTCP && !dial:
		return ss.listenTCP(network, la)
	case p == protoTCP:
		return ss.dialTCP(ctx, laddr != nil, la, ra)
	case !dial:
		return ss.listenUDP(network, family, la)
	default:
		return ss.dialUDP(laddr != nil, la, ra)
	}
}

// is6 reports whether a is an IPv6 address (not IPv4-mapped).
func is6(a netip.AddrPort) bool { return a.Addr().Is6() && !a.Addr().Is4In6() }

// hasIPv6 reports whether the stack was built with IPv6.
func (ss *Sockets) hasIPv6() bool { return ss.Stack.HasIPv6() }

// wildcard reports whether a listens on every address: none given,
// 0.0.0.0 or ::.
func wildcard(a netip.Addr) bool { return !a.IsValid() || a.IsUnspecified() }

// check validates the network, family and socket type.
func check(network string, family, sotype int) (proto, error) {
	var p proto
	switch network {
	case "tcp", "tcp4", "tcp6":
		p = protoTCP
	case "udp", "udp4", "udp6":
		p = protoUDP
	}
	switch {
	case family == syscall.AF_UNIX:
		return 0, errorf(syscall.EAFNOSUPPORT, "Unix sockets are not supported")
	case family != syscall.AF_INET && family != syscall.AF_INET6:
		return 0, errorf(syscall.EAFNOSUPPORT, "address family not supported")
	case sotype != syscall.SOCK_STREAM && sotype != syscall.SOCK_DGRAM:
		return 0, errorf(syscall.ESOCKTNOSUPPORT, "only TCP and UDP sockets are supported (no raw sockets)")
	case p == 0:
		return 0, errorf(syscall.EPROTONOSUPPORT, "network "+network+" is not supported")
	case p == protoTCP && sotype != syscall.SOCK_STREAM, p == protoUDP && sotype != syscall.SOCK_DGRAM:
		return 0, errorf(syscall.EPROTONOSUPPORT, "network "+network+" does not match the socket type")
	}
	return p, nil
}

// addrPort converts a *net.TCPAddr or *net.UDPAddr to an AddrPort: an
// empty IP gives the zero Addr, an IPv4-mapped one IPv4, 0.0.0.0 and ::
// themselves. A zone is refused (one interface: none is needed).
func addrPort(a net.Addr, which string) (netip.AddrPort, error) {
	var ip net.IP
	var port int
	var zone string
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, port, zone = a.IP, a.Port, a.Zone
	case *net.UDPAddr:
		ip, port, zone = a.IP, a.Port, a.Zone
	default:
		return netip.AddrPort{}, errorf(syscall.EINVAL, which+" address is a "+a.Network()+" address")
	}
	if port < 0 || port > 0xffff {
		return netip.AddrPort{}, errorf(syscall.EINVAL, which+" port out of range")
	}
	if zone != "" {
		return netip.AddrPort{}, errorf(syscall.EINVAL, which+" address has a zone ("+zone+"): one interface needs none")
	}
	if len(ip) == 0 {
		return netip.AddrPortFrom(netip.Addr{}, uint16(port)), nil
	}
	a16, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.AddrPort{}, errorf(syscall.EINVAL, which+" address "+ip.String()+" is not an IP address")
	}
	return netip.AddrPortFrom(a16.Unmap(), uint16(port)), nil
}

// checkLocal fails unless a is unspecified or one of our addresses.
func (ss *Sockets) checkLocal(a netip.Addr) error {
	if wildcard(a) {
		return nil
	}
	if !ss.Stack.IsAddr(inet.AddrFromNetip(a)) {
		return errorf(syscall.EADDRNOTAVAIL, "local address "+a.String()+" is not ours")
	}
	return nil
}

// familiesOf returns the address to bind and the IPV6_V6ONLY setting
// for a listen on la over network: "...4" IPv4 only, "...6" IPv6 only, a
// wildcard on the plain network both (see the package documentation).
func familiesOf(network string, la netip.Addr) (netip.Addr, bool, error) {
	switch network[len(network)-1] {
	case '4':
		if wildcard(la) {
			return netip.IPv4Unspecified(), false, nil
		}
		if !la.Is4() {
			return la, false, errorf(syscall.EAFNOSUPPORT, "network "+network+" with an IPv6 address")
		}
		return la, false, nil
	case '6':
		if wildcard(la) {
			return netip.IPv6Unspecified(), true, nil
		}
		if la.Is4() {
			return la, false, errorf(syscall.EAFNOSUPPORT, "network "+network+" with an IPv4 address")
		}
		return la, true, nil
	}
	if wildcard(la) {
		return netip.IPv6Unspecified(), false, nil
	}
	return la, false, nil
}

// listenTCP listens on la's port; port 0 picks a free ephemeral one.
func (ss *Sockets) listenTCP(network string, la netip.AddrPort) (net.Listener, error) {
	if err := ss.checkLocal(la.Addr()); err != nil {
		return nil, err
	}
	addr, v6only, err := familiesOf(network, la.Addr())
	if err != nil {
		return nil, err
	}
	tl := ss.Stack.TCP()
	var ln *tcp.Listener
	if la.Port() != 0 {
		ln, err = tl.ListenAddr(netip.AddrPortFrom(addr, la.Port()), v6only)
	} else {
		cfg := tl.Config()
		lo, n := int(cfg.EphemeralLow), int(cfg.EphemeralHigh)-int(cfg.EphemeralLow)+1
		var r [4]byte // where to start probing: from the stack's randomness (RFC 6056 §3.2)
		if _, err := io.ReadFull(ss.Stack.Rand(), r[:]); err != nil {
			return nil, err
		}
		start := int(binary.BigEndian.Uint32(r[:]) % uint32(n))
		err = tcp.ErrNoPorts
		for i := 0; i < n; i++ {
			ln, err = tl.ListenAddr(netip.AddrPortFrom(addr, uint16(lo+(start+i)%n)), v6only)
			if !errors.Is(err, tcp.ErrAddrInUse) {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return newListener(ln, ln.Addr()), nil
}

// listener is a *tcp.Listener whose connections have Nagle off, as
// package net's do, whose address is the one asked for, and which has
// SetDeadline: package net's (*TCPListener).SetDeadline asserts that the
// socket has it (netFD.SetDeadline) and would panic otherwise.
type listener struct {
	*tcp.Listener
	addr net.Addr

	mu     sync.Mutex
	dl     time.Time          // Accept deadline; zero: none
	epoch  context.Context    // cancelled when the deadline changes
	cancel context.CancelFunc // cancels epoch
}

func newListener(ln *tcp.Listener, addr net.Addr) *listener {
	l := &listener{Listener: ln, addr: addr}
	l.epoch, l.cancel = context.WithCancel(context.Background())
	return l
}

// Accept implements net.Listener. It fails with os.ErrDeadlineExceeded
// (Timeout() true) once the deadline set with SetDeadline passes.
func (l *listener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		epoch, dl := l.epoch, l.dl
		l.mu.Unlock()
		if !dl.IsZero() && !time.Now().Before(dl) {
			return nil, os.ErrDeadlineExceeded
		}
		ctx, cancel := epoch, context.CancelFunc(func() {})
		if !dl.IsZero() {
			ctx, cancel = context.WithDeadline(epoch, dl)
		}
		c, err := l.Listener.AcceptContext(ctx)
		cancel()
		switch {
		case err == nil:
			c.SetNoDelay(true)
			return c, nil
		case errors.Is(err, net.ErrClosed):
			return nil, err
		case epoch.Err() != nil:
			continue // the deadline moved: wait again with the new one
		case errors.Is(err, context.DeadlineExceeded):
			return nil, os.ErrDeadlineExceeded
		}
		return nil, err
	}
}

// SetDeadline sets the deadline for Accept, also for one blocked now; the
// zero time means none.
func (l *listener) SetDeadline(t time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dl = t
	l.cancel()
	l.epoch, l.cancel = context.WithCancel(context.Background())
	return nil
}

// SetReadDeadline and SetWriteDeadline complete the interface package
// net's netFD asserts; a listener only has the Accept deadline.
func (l *listener) SetReadDeadline(t time.Time) error { return l.SetDeadline(t) }

// SetWriteDeadline does nothing: a listener does not write.
func (l *listener) SetWriteDeadline(time.Time) error { return nil }

// Close implements net.Listener.
func (l *listener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	l.cancel()
	l.mu.Unlock()
	return err
}

// Addr implements net.Listener.
func (l *listener) Addr() net.Addr { return l.addr }

// dialTCP connects to ra, from la's port if hasLocal.
func (ss *Sockets) dialTCP(ctx context.Context, hasLocal bool, la, ra netip.AddrPort) (net.Conn, error) {
	if !ra.Addr().IsValid() {
		return nil, errorf(syscall.EADDRNOTAVAIL, "cannot dial the unspecified address")
	}
	var lport uint16
	if hasLocal {
		if err := ss.checkLocal(la.Addr()); err != nil {
			return nil, err
		}
		lport = la.Port()
	}
	c, err := ss.Stack.TCP().DialFrom(ctx, lport, ra)
	if err != nil {
		return nil, err
	}
	c.SetNoDelay(true)
	return c, nil
}

// listenUDP binds la. A wildcard "udp" socket is IPv4 only when package
// net made it AF_INET (it could not pass on an IPv6 source).
func (ss *Sockets) listenUDP(network string, family int, la netip.AddrPort) (net.PacketConn, error) {
	if err := ss.checkLocal(la.Addr()); err != nil {
		return nil, err
	}
	addr, v6only, err := familiesOf(network, la.Addr())
	if err != nil {
		return nil, err
	}
	if family == syscall.AF_INET && addr == netip.IPv6Unspecified() && !v6only {
		addr = netip.IPv4Unspecified()
	}
	c, err := ss.Stack.UDP().BindAddr(netip.AddrPortFrom(addr, la.Port()), v6only)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// dialUDP opens a connected UDP socket to ra, from la if hasLocal.
func (ss *Sockets) dialUDP(hasLocal bool, la, ra netip.AddrPort) (net.Conn, error) {
	if !ra.Addr().IsValid() || ra.Port() == 0 {
		return nil, errorf(syscall.EADDRNOTAVAIL, "cannot send to "+ra.String())
	}
	if !hasLocal || la == (netip.AddrPort{}) {
		c, err := ss.Stack.UDP().Dial(ra)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	if err := ss.checkLocal(la.Addr()); err != nil {
		return nil, err
	}
	c, err := ss.Stack.UDP().Bind(la)
	if err != nil {
		return nil, err
	}
	local := la.Addr()
	if wildcard(local) {
		src, err := ss.source(ra.Addr())
		if err != nil {
			c.Close()
			return nil, err
		}
		local = src
	}
	return &boundUDP{Conn: c, local: netip.AddrPortFrom(local, c.Port()), remote: ra}, nil
}

// source returns our address for datagrams to dst.
func (ss *Sockets) source(dst netip.Addr) (netip.Addr, error) {
	src, err := ss.Stack.Source(inet.AddrFromNetip(dst))
	return src.Netip(), err
}

// boundUDP is a UDP socket on a chosen local address, connected to remote:
// it sends to remote and receives only from it, like a connect(2)ed
// socket.
type boundUDP struct {
	*udp.Conn
	local, remote netip.AddrPort
}

// Read implements net.Conn: the next datagram from the remote address.
func (b *boundUDP) Read(p []byte) (int, error) {
	for {
		n, from, err := b.Conn.ReadFromAddrPort(p)
		if err != nil || from == b.remote {
			return n, err
		}
	}
}

// ReadFrom implements net.PacketConn.
func (b *boundUDP) ReadFrom(p []byte) (int, net.Addr, error) {
	n, err := b.Read(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(b.remote), nil
}

// Write implements net.Conn.
func (b *boundUDP) Write(p []byte) (int, error) { return b.Conn.WriteToAddrPort(p, b.remote) }

// LocalAddr implements net.Conn: our address and the bound port.
func (b *boundUDP) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(b.local) }

// RemoteAddr implements net.Conn.
func (b *boundUDP) RemoteAddr() net.Addr { return net.UDPAddrFromAddrPort(b.remote) }

var (
	_ net.Listener   = (*listener)(nil)
	_ net.Conn       = (*boundUDP)(nil)
	_ net.PacketConn = (*boundUDP)(nil)
	_ net.Conn       = (*udp.Conn)(nil)
	_ net.PacketConn = (*udp.Conn)(nil)
)
