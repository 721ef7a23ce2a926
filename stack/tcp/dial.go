package tcp

import (
	"context"
	"net/netip"

	"github.com/mirago/mirago/stack/inet"
)

// Active open (RFC 9293 §3.10.1, OPEN call with a foreign socket).

// Dial opens a connection to raddr from an address and ephemeral port the
// layer picks.
func (l *Layer) Dial(ctx context.Context, raddr netip.AddrPort) (*Conn, error) {
	return l.DialFrom(ctx, 0, raddr)
}

// DialFrom is Dial from local port lport (0: ephemeral).
func (l *Layer) DialFrom(ctx context.Context, lport uint16, raddr netip.AddrPort) (*Conn, error) {
	dst := inet.AddrFromNetip(raddr.Addr())
	if !raddr.Addr().IsValid() || raddr.Port() == 0 || dst.IsUnspecified() || notUnicast(dst) {
		return nil, ErrInvalid
	}
	l.lock.Lock()
	defer l.lock.Unlock()
	src, err := l.ip.Source(dst)
	if err != nil {
		return nil, err
	}
	id := tuple{laddr: src, raddr: dst, rport: raddr.Port()}
	if lport == 0 {
		p, ok := l.pickPort(id)
		if !ok {
			return nil, ErrNoPorts
		}
		id.lport = p
	} else {
		id.lport = lport
		if _, used := l.conns[id]; used {
			return nil, ErrAddrInUse
		}
	}
	c := l.newConn(id)
	c.f |= fActive | fAccepted
	c.setState(SynSent)
	l.conns[id] = c
	c.rttAt = l.now()
	c.sendSYN()
	c.armRTX()
	for c.state == SynSent || c.state == SynReceived {
		if c.wrCh == nil {
			c.wrCh = make(chan struct{}, 1)
		}
		c.f |= fWrWait
		ch := c.wrCh
		l.lock.Unlock()
		select {
		case <-ch:
			l.lock.Lock()
		case <-ctx.Done():
			l.lock.Lock()
			c.f &^= fWrWait
			if c.state == SynSent || c.state == SynReceived {
				c.finish(ctx.Err())
				return nil, ctx.Err()
			}
		}
		c.f &^= fWrWait
	}
	if c.state == Closed && c.err() != nil {
		return nil, c.err()
	}
	return c, nil
}
