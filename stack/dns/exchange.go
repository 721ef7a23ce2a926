package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"time"
)

// exchange sends one query of type qtype for name to srv over UDP and, if the answer is
// truncated (TC=1), repeats it over TCP (RFC 1035 §4.2.2, RFC 7766 §5).
// The whole try is bounded by the Resolver's Timeout.
func (r *Resolver) exchange(ctx context.Context, srv netip.AddrPort, name string, qtype uint16) (*Message, error) {
	id, err := r.newID()
	if err != nil {
		return nil, err
	}
	q, err := AppendQuery(make([]byte, 2, 2+headerLen+maxNameLen+4), id, name, qtype)
	if err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint16(q, uint16(len(q)-2)) // TCP length prefix
	tctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	m, err := r.exchangeUDP(tctx, srv, q[2:], id, name, qtype)
	if err == nil && m.Truncated {
		m, err = r.exchangeTCP(tctx, srv, q, id, name, qtype)
	}
	if err != nil && ctx.Err() == nil && (tctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded)) {
		err = ErrTimeout
	}
	return m, err
}

// exchangeUDP reads until a datagram that is a valid response to the query
// arrives or the deadline passes. Datagrams from elsewhere, unparsable ones
// and responses that do not match (ID, QR, opcode, question) are ignored
// rather than fatal, so a forged or stray datagram cannot abort the try
// (RFC 5452 §9.1).
func (r *Resolver) exchangeUDP(ctx context.Context, srv netip.AddrPort, q []byte, id uint16, name string, qtype uint16) (*Message, error) {
	c, err := r.dialer().DialUDP(ctx, srv)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	defer bindDeadline(ctx, c)()
	if _, err := c.Write(q); err != nil {
		return nil, err
	}
	buf := make([]byte, maxUDPResponse)
	pc, _ := c.(net.PacketConn)
	for {
		var n int
		var from net.Addr
		if pc != nil {
			n, from, err = pc.ReadFrom(buf)
		} else {
			n, err = c.Read(buf)
		}
		if err != nil {
			return nil, err
		}
		if from != nil && !sameAddr(from, srv) {
			continue
		}
		// Check the ID and QR bit (RFC 1035 §4.1.1) before decoding: a
		// spoofed reply costs a comparison, not a parse.
		if n < 12 || binary.BigEndian.Uint16(buf[0:2]) != id || buf[2]&0x80 == 0 {
			continue
		}
		m, err := ParseMessage(buf[:n])
		if err != nil || !isResponseTo(m, id, name, qtype) {
			continue
		}
		return m, nil
	}
}

// exchangeTCP sends the length-prefixed query lq over a new TCP connection
// and reads one length-prefixed response (RFC 1035 §4.2.2).
func (r *Resolver) exchangeTCP(ctx context.Context, srv netip.AddrPort, lq []byte, id uint16, name string, qtype uint16) (*Message, error) {
	c, err := r.dialer().DialTCP(ctx, srv)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	defer bindDeadline(ctx, c)()
	if _, err := c.Write(lq); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	m, err := ParseMessage(buf)
	if err != nil {
		return nil, err
	}
	if !isResponseTo(m, id, name, qtype) {
		return nil, ErrBadResponse
	}
	return m, nil
}

// bindDeadline sets c's deadline from ctx and makes cancelling ctx wake
// blocked reads; the returned func undoes the latter.
func bindDeadline(ctx context.Context, c net.Conn) func() bool {
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	return context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
}

// isResponseTo reports whether m answers our query: QR set, standard
// query opcode, same ID and the question echoed (RFC 5452 §4).
func isResponseTo(m *Message, id uint16, name string, qtype uint16) bool {
	if !m.Response || m.ID != id || m.Opcode != 0 || len(m.Questions) != 1 {
		return false
	}
	q := m.Questions[0]
	return q.Type == qtype && q.Class == ClassINET && sameName(q.Name, name)
}

// sameAddr reports whether a is the address srv.
func sameAddr(a net.Addr, srv netip.AddrPort) bool {
	var ap netip.AddrPort
	if u, ok := a.(*net.UDPAddr); ok {
		ap = u.AddrPort()
	} else {
		var err error
		if ap, err = netip.ParseAddrPort(a.String()); err != nil {
			return false
		}
	}
	return ap.Addr().Unmap() == srv.Addr().Unmap() && ap.Port() == srv.Port()
}

// NetDialer implements Dialer with Go's net package (host builds, tests).
// The kernel picks a random ephemeral source port for each UDP socket.
type NetDialer struct {
	// Dialer is the underlying net.Dialer; its zero value is fine.
	Dialer net.Dialer
}

// DialUDP implements Dialer.DialUDP.
func (d NetDialer) DialUDP(ctx context.Context, raddr netip.AddrPort) (net.Conn, error) {
	return d.Dialer.DialContext(ctx, "udp", raddr.String())
}

// DialTCP implements Dialer.DialTCP.
func (d NetDialer) DialTCP(ctx context.Context, raddr netip.AddrPort) (net.Conn, error) {
	return d.Dialer.DialContext(ctx, "tcp", raddr.String())
}
