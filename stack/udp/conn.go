package udp

import (
	"net"
	"net/netip"
	"time"

	"github.com/mirago/mirago/internal/blockpool"
	"github.com/mirago/mirago/internal/deadline"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

// Conn is a UDP socket. It implements net.PacketConn, and net.Conn when it
// was made by Dial. Its methods take the stack lock themselves and are safe
// for concurrent use.
type Conn struct {
	l         *Layer
	local     inet.Addr // bound address; unspecified = any of ours
	port      uint16
	fams      uint8 // takesIPv4, takesIPv6: the families it takes
	connected bool
	remote    inet.Addr // connected: the peer's address and port
	rport     uint16
	broadcast bool  // may send to 255.255.255.255
	anySource bool  // send with source 0.0.0.0 while the stack has no address (DHCP)
	ttl       uint8 // 0: the IP layer's default

	// Receive queue, guarded by the stack lock: a ring of records in a
	// pooled block, nil while empty (see rxqueue.go).
	rx     *blockpool.Block
	rhead  int   // offset of the oldest record
	rused  int   // bytes of records queued
	qlen   int   // datagrams queued
	err    error // pending asynchronous error (ICMP), reported once
	closed bool

	readable chan struct{} // signalled when the queue becomes non-empty
	done     chan struct{} // closed by Close
	rdl, wdl deadline.Deadline
}

func newConn(l *Layer, local inet.Addr, fams uint8) *Conn {
	c := &Conn{
		l: l, local: local, fams: fams,
		readable: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	if l.cfg.Clock != nil {
		c.rdl.UseClock(l.cfg.Clock)
		c.wdl.UseClock(l.cfg.Clock)
	}
	return c
}

// accepts reports whether a datagram may be queued on c (lock held).
func (c *Conn) accepts(p *transport.Packet, h Header) bool {
	if c.closed {
		return false
	}
	if !c.local.IsUnspecified() && c.local != p.Dst && !p.Broadcast {
		return false
	}
	if c.connected && (c.rport != h.SrcPort() || c.remote != p.Src) {
		return false
	}
	return true
}

func (c *Conn) setError(err error) {
	c.err = err
	select {
	case c.readable <- struct{}{}:
	default:
	}
}

// ReadFrom implements net.PacketConn. A datagram longer than p is
// truncated, as with BSD sockets.
func (c *Conn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// ReadFromAddrPort is ReadFrom without allocating an address.
func (c *Conn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	l := c.l
	for {
		l.lock.Lock()
		if c.closed {
			l.lock.Unlock()
			return 0, netip.AddrPort{}, net.ErrClosed
		}
		if c.qlen > 0 {
			n, from := c.dequeue(p)
			if c.qlen > 0 {
				// enqueue signals only on empty -> non-empty: pass the
				// wake-up on to another blocked reader.
				select {
				case c.readable <- struct{}{}:
				default:
				}
			}
			l.lock.Unlock()
			return n, from, nil
		}
		if err := c.err; err != nil {
			c.err = nil
			l.lock.Unlock()
			return 0, netip.AddrPort{}, err
		}
		l.lock.Unlock()
		if c.rdl.Expired() {
			return 0, netip.AddrPort{}, deadline.ErrTimeout
		}
		select {
		case <-c.readable:
		case <-c.done:
		case <-c.rdl.Done():
		}
	}
}

// WriteTo implements net.PacketConn.
func (c *Conn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || ua == nil {
		return 0, ErrNoAddress
	}
	return c.WriteToAddrPort(p, ua.AddrPort())
}

// WriteToAddrPort sends p as one datagram to addr.
func (c *Conn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	if c.wdl.Expired() {
		return 0, deadline.ErrTimeout
	}
	c.l.lock.Lock()
	defer c.l.lock.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	if err := c.l.send(c, p, addr); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Read implements net.Conn for a connected socket.
func (c *Conn) Read(p []byte) (int, error) {
	n, _, err := c.ReadFromAddrPort(p)
	return n, err
}

// Write implements net.Conn for a connected socket.
func (c *Conn) Write(p []byte) (int, error) {
	if !c.connected {
		return 0, ErrNoAddress
	}
	return c.WriteToAddrPort(p, c.remote.AddrPort(c.rport))
}

// Close implements net.PacketConn. It unblocks pending reads.
func (c *Conn) Close() error {
	c.l.lock.Lock()
	defer c.l.lock.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	c.closed = true
	c.l.unbind(c)
	close(c.done)
	c.release()
	return nil
}

// LocalAddr implements net.PacketConn.
func (c *Conn) LocalAddr() net.Addr {
	return net.UDPAddrFromAddrPort(c.local.AddrPort(c.port))
}

// RemoteAddr implements net.Conn; it is nil for an unconnected socket.
func (c *Conn) RemoteAddr() net.Addr {
	if !c.connected {
		return nil
	}
	return net.UDPAddrFromAddrPort(c.remote.AddrPort(c.rport))
}

// SetDeadline implements net.PacketConn.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rdl.Set(t)
	c.wdl.Set(t)
	return nil
}

// SetReadDeadline implements net.PacketConn.
func (c *Conn) SetReadDeadline(t time.Time) error { c.rdl.Set(t); return nil }

// SetWriteDeadline implements net.PacketConn. Writes never block, so it
// only makes writes after the deadline fail.
func (c *Conn) SetWriteDeadline(t time.Time) error { c.wdl.Set(t); return nil }

// SetBroadcast allows sending to the limited broadcast address (SO_BROADCAST).
func (c *Conn) SetBroadcast(on bool) {
	c.l.lock.Lock()
	c.broadcast = on
	c.l.lock.Unlock()
}

// SetUnspecifiedSource makes an unbound socket send with source 0.0.0.0
// instead of failing when the stack has no address yet; once the stack has
// an address, datagrams carry it as usual. The DHCP client uses it (RFC
// 2131 §4.1: 0.0.0.0 while acquiring, the leased address when renewing).
func (c *Conn) SetUnspecifiedSource(on bool) {
	c.l.lock.Lock()
	c.anySource = on
	c.l.lock.Unlock()
}

// SetTTL sets the TTL of datagrams sent (0: the IP default).
func (c *Conn) SetTTL(ttl uint8) {
	c.l.lock.Lock()
	c.ttl = ttl
	c.l.lock.Unlock()
}

// Port returns the bound port.
func (c *Conn) Port() uint16 { return c.port }
