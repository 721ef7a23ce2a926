package tcp

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// Listener accepts connections to one local port, on any local address
// of its families or on one address. It implements net.Listener.
type Listener struct {
	l          *Layer
	port       uint16
	fams       uint8     // takesIPv4, takesIPv6
	addr       inet.Addr // the local address it takes; unspecified: any of its families
	queue      []*Conn   // established, not yet accepted; cap = backlog
	halfOpen   int       // connections in SYN_RECEIVED
	ch         chan struct{}
	waiting    bool
	closed     bool
	lastCookie time.Duration // when we last sent a SYN cookie
	filter     func(remote netip.AddrPort) bool
}

// Listen starts accepting connections to port on any of our addresses,
// IPv4 and IPv6: ListenAddr on [::]:port, dual-stack.
func (l *Layer) Listen(port uint16) (*Listener, error) {
	return l.ListenAddr(netip.AddrPortFrom(netip.Addr{}, port), false)
}

// ListenAddr starts accepting connections to laddr. Its address says
// which families the listener takes, as a Linux socket's with
// IPV6_V6ONLY set to v6only does: 0.0.0.0 (or an IPv4-mapped address)
// IPv4 only; :: or the zero netip.Addr both (dual-stack), or IPv6 only if
// v6only; one of our addresses only connections to it. A port has one
// listener per family: an IPv4 and an IPv6-only listener share it, a
// dual one excludes both (ErrAddrInUse). Port 0 and an IPv4 address with
// v6only are ErrInvalid.
func (l *Layer) ListenAddr(laddr netip.AddrPort, v6only bool) (*Listener, error) {
	port := laddr.Port()
	if port == 0 {
		return nil, ErrInvalid
	}
	addr, fams := inet.IPv6Unspecified, takesBoth
	if a := laddr.Addr(); a.IsValid() && a != netip.IPv6Unspecified() {
		addr, fams = inet.AddrFromNetip(a), takesIPv6
		if addr.Is4() {
			fams = takesIPv4
		}
		if addr.IsMulticast() || addr.Is4() && addr.As4().IsBroadcast() {
			return nil, ErrInvalid
		}
	} else if v6only {
		fams = takesIPv6
	}
	if v6only && fams == takesIPv4 {
		return nil, ErrInvalid
	}
	l.lock.Lock()
	defer l.lock.Unlock()
	slot := l.listeners[port]
	if !slot.free(fams) {
		return nil, ErrAddrInUse
	}
	ln := &Listener{l: l, port: port, fams: fams, addr: addr, queue: make([]*Conn, 0, l.cfg.Backlog), ch: make(chan struct{}, 1)}
	if fams&takesIPv4 != 0 {
		slot.v4 = ln
	}
	if fams&takesIPv6 != 0 {
		slot.v6 = ln
	}
	l.listeners[port] = slot
	l.states[Listen]++
	return ln, nil
}

// Address families a listener takes (Listener.fams).
const (
	takesIPv4 uint8 = 1 << iota
	takesIPv6
	takesBoth = takesIPv4 | takesIPv6
)

// listenSlot holds the listeners of one port: one per family at most, a
// dual-stack one in both.
type listenSlot struct {
	v4, v6 *Listener
}

// free reports whether s has room for a listener taking fams.
func (s listenSlot) free(fams uint8) bool {
	return (fams&takesIPv4 == 0 || s.v4 == nil) && (fams&takesIPv6 == 0 || s.v6 == nil)
}

// used reports whether any listener has the port (ephemeral ports skip
// it).
func (s listenSlot) used() bool { return s.v4 != nil || s.v6 != nil }

// find returns the listener that takes a connection to dst, or nil.
func (s listenSlot) find(dst inet.Addr) *Listener {
	ln := s.v6
	if dst.Is4() {
		ln = s.v4
	}
	if ln == nil || !ln.addr.IsUnspecified() && ln.addr != dst {
		return nil
	}
	return ln
}

// SetFilter installs an accept filter: f is called with the client's
// address and port when a SYN arrives, before any state, SYN-ACK or SYN
// cookie is made, and again when the ACK of a SYN cookie would complete a
// handshake (the cookie keeps no record of the first answer). When it
// returns false the attempt is refused as if the port were closed: the SYN
// gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (RFC 9293 §3.10.7.1; the
// client's connect fails with "connection refused", like iptables REJECT
// --reject-with tcp-reset), a cookie ACK gets <SEQ=SEG.ACK><CTL=RST>, and
// Stats.ListenFiltered counts it. These RSTs are not rate-limited, as for
// closed ports. nil removes the filter.
//
// SetFilter also applies f at once to the connections still waiting in
// this listener (half-open, or established and not yet accepted): those
// it refuses are reset and counted, so that after SetFilter returns no
// connection that f refuses can be accepted, even one whose SYN arrived
// between Listen and SetFilter.
//
// f runs with the stack lock held, in the receive path: it must be fast,
// must not block (no logging to a synchronous console, no channel send
// that can wait) and must not call anything that takes the stack lock
// (Listener, Conn, Layer or stack.Stack methods), or it deadlocks.
func (ln *Listener) SetFilter(f func(remote netip.AddrPort) bool) {
	l := ln.l
	l.lock.Lock()
	defer l.lock.Unlock()
	ln.filter = f
	if f == nil || ln.closed {
		return
	}
	q := ln.queue[:0]
	for _, c := range ln.queue {
		if ln.allowed(c.id) {
			q = append(q, c)
			continue
		}
		c.ln = nil
		c.abortRST(ErrRefused)
	}
	clear(ln.queue[len(q):])
	ln.queue = q
	for _, c := range l.conns {
		if c.ln == ln && c.state == SynReceived && !ln.allowed(c.id) {
			c.halfOpenAbort()
		}
	}
}

// allowed runs the filter on id's remote end, counting a refusal.
func (ln *Listener) allowed(id tuple) bool {
	if ln.filter == nil || ln.filter(id.raddr.AddrPort(id.rport)) {
		return true
	}
	ln.l.cnt(id.raddr).ListenFiltered++
	return false
}

func (ln *Listener) wake() {
	if ln.waiting {
		select {
		case ln.ch <- struct{}{}:
		default:
		}
	}
}

// Accept waits for and returns the next connection. It implements
// net.Listener.Accept.
func (ln *Listener) Accept() (net.Conn, error) {
	c, err := ln.AcceptContext(context.Background())
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptTCP is Accept returning the concrete type.
func (ln *Listener) AcceptTCP() (*Conn, error) { return ln.AcceptContext(context.Background()) }

// AcceptContext is Accept that also returns when ctx is done.
func (ln *Listener) AcceptContext(ctx context.Context) (*Conn, error) {
	l := ln.l
	l.lock.Lock()
	defer l.lock.Unlock()
	for {
		if ln.closed {
			return nil, ErrClosed
		}
		if len(ln.queue) > 0 {
			c := ln.queue[0]
			copy(ln.queue, ln.queue[1:])
			ln.queue[len(ln.queue)-1] = nil
			ln.queue = ln.queue[:len(ln.queue)-1]
			c.ln = nil
			c.f |= fAccepted
			return c, nil
		}
		ln.waiting = true
		l.lock.Unlock()
		select {
		case <-ln.ch:
		case <-ctx.Done():
			l.lock.Lock()
			ln.waiting = false
			return nil, ctx.Err()
		}
		l.lock.Lock()
		ln.waiting = false
	}
}

// Close stops listening, resets queued connections and unblocks Accept.
// It implements net.Listener.Close.
func (ln *Listener) Close() error {
	l := ln.l
	l.lock.Lock()
	defer l.lock.Unlock()
	if ln.closed {
		return ErrClosed
	}
	ln.closed = true
	slot := l.listeners[ln.port]
	if slot.v4 == ln {
		slot.v4 = nil
	}
	if slot.v6 == ln {
		slot.v6 = nil
	}
	if slot.used() {
		l.listeners[ln.port] = slot
	} else {
		delete(l.listeners, ln.port)
	}
	l.states[Listen]--
	for _, c := range ln.queue {
		c.ln = nil
		c.abortRST(ErrClosed)
	}
	ln.queue = ln.queue[:0]
	for _, c := range l.conns {
		if c.ln == ln {
			c.ln = nil
			c.halfOpenAbort()
		}
	}
	select {
	case ln.ch <- struct{}{}:
	default:
	}
	return nil
}

func (c *Conn) halfOpenAbort() {
	c.l.sendRST(c.id, c.sndMax, 0, FlagRST)
	c.finish(ErrClosed)
}

// Addr returns the listening address: [::]:port for a dual-stack or
// IPv6-only listener on any address, 0.0.0.0:port for an IPv4 one, or
// the address it was given. It implements net.Listener.Addr.
func (ln *Listener) Addr() net.Addr { return net.TCPAddrFromAddrPort(ln.addr.AddrPort(ln.port)) }

// V6Only reports whether the listener takes IPv6 connections only.
func (ln *Listener) V6Only() bool { return ln.fams == takesIPv6 }

// Port is the listening port.
func (ln *Listener) Port() uint16 { return ln.port }

// input handles a segment for a listening port (§3.10.7.2).
func (ln *Listener) input(id tuple, s *segment) {
	l := ln.l
	switch {
	case s.has(FlagRST):
		return
	case s.has(FlagACK):
		if !s.has(FlagSYN) && ln.tryCookie(id, s) {
			return
		}
		l.sendRST(id, s.ack, 0, FlagRST)
		return
	case !s.has(FlagSYN) || s.has(FlagFIN):
		l.drop(id.raddr, DropOther)
		return
	}
	if !ln.allowed(id) {
		l.resetFor(id, s)
		return
	}
	if len(ln.queue) >= cap(ln.queue) || ln.halfOpen >= l.cfg.MaxHalfOpen {
		if l.cfg.DisableSynCookies {
			l.drop(id.raddr, DropBacklogFull)
			return
		}
		ln.sendCookie(id, s)
		return
	}
	c := l.newConn(id)
	c.ln = ln
	c.irs = s.seq
	c.rcvNxt = s.seq + 1
	c.rcvAdv = c.rcvNxt
	c.negotiate(&s.opt)
	c.sndWnd = uint32(s.wnd)
	c.sndWl1 = s.seq
	c.lastRecv = l.now()
	c.setState(SynReceived)
	ln.halfOpen++
	l.conns[id] = c
	c.rttAt = l.now()
	c.sendSYN()
	c.armRTX()
}

// sendCookie answers a SYN with a stateless SYN cookie SYN-ACK.
func (ln *Listener) sendCookie(id tuple, s *segment) {
	l := ln.l
	mss := uint16(536)
	if s.opt.HasMSS {
		mss = s.opt.MSS
	}
	isn, mss := l.makeCookie(id, s.seq, min(mss, uint16(l.mssFor(id.raddr))))
	ln.lastCookie = l.now()
	l.cnt(id.raddr).SynCookiesSent++
	f := Fields{SrcPort: id.lport, DstPort: id.rport, Seq: isn, Ack: s.seq + 1, Flags: FlagSYN | FlagACK}
	f.Window = uint16(min(l.cfg.RecvBuffer, 0xffff))
	var opts [40]byte
	ws := -1
	if s.opt.HasWS && !l.cfg.DisableWindowScale {
		ws = l.ourWS()
	}
	sack := s.opt.SACKOK && !l.cfg.DisableSACK
	ts := s.opt.HasTS && !l.cfg.DisableTimestamps
	var tsVal uint32
	if ts {
		peerWS := -1
		if ws >= 0 {
			peerWS = int(s.opt.WScale)
		}
		tsVal = cookieTS(l.tsNow()+l.tsOffset(id), peerWS, sack)
	} else {
		ws, sack = -1, false // without timestamps there is nowhere to keep them
	}
	n := synOptions(opts[:], mss, ws, sack, ts, tsVal, s.opt.TSVal)
	l.send(id, &f, opts[:n], nil, nil, 0)
}

// tryCookie checks whether an ACK completes a cookie handshake and, if so,
// creates the connection.
func (ln *Listener) tryCookie(id tuple, s *segment) bool {
	l := ln.l
	if l.cfg.DisableSynCookies || ln.lastCookie == 0 && l.cnts[0].SynCookiesSent+l.cnts[1].SynCookiesSent == 0 {
		return false
	}
	mss, ok := l.checkCookie(id, s.seq-1, s.ack-1)
	if !ok {
		l.cnt(id.raddr).SynCookiesInvalid++
		if l.now()-ln.lastCookie < 2*cookiePeriod {
			l.drop(id.raddr, DropOther)
			return true // invalid cookie: dropped silently
		}
		return false
	}
	if !ln.allowed(id) {
		l.sendRST(id, s.ack, 0, FlagRST)
		return true
	}
	if len(ln.queue) >= cap(ln.queue) {
		l.drop(id.raddr, DropBacklogFull)
		return true
	}
	l.cnt(id.raddr).SynCookiesValid++
	c := l.newConn(id)
	c.iss = s.ack - 1
	c.sndUna, c.sndNxt, c.sndMax = s.ack, s.ack, s.ack
	c.sndBase = s.ack
	c.sndSml = s.ack // Nagle's mark must follow the cookie's ISS, not newConn's
	c.recover = c.iss
	c.irs = s.seq - 1
	c.rcvNxt = s.seq
	c.lastAck = s.seq
	c.rcvAdv = c.rcvNxt + uint32(min(l.cfg.RecvBuffer, 0xffff))
	var o Options
	o.HasMSS, o.MSS = true, mss
	if s.opt.HasTS && !l.cfg.DisableTimestamps {
		o.HasTS, o.TSVal = true, s.opt.TSVal
		ws, sack := cookieTSDecode(s.opt.TSEcr)
		if ws >= 0 {
			o.HasWS, o.WScale = true, uint8(ws)
		}
		o.SACKOK = sack
	}
	c.negotiate(&o)
	c.sndWnd = uint32(s.wnd) << c.sndWS
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = s.seq, s.ack
	c.setState(Established)
	l.conns[id] = c
	ln.queue = append(ln.queue, c)
	l.cnt(id.raddr).PassiveOpens++
	ln.wake()
	c.input(s)
	return true
}
