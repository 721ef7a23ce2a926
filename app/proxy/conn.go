package main

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/mimic/tlshello"
	"github.com/mirago/mirago/flow/proxyproto"
	"github.com/mirago/mirago/stack/tcp"
)

// entry is one access log line: what happened to a connection.
type entry struct {
	start              time.Time
	client, peer       netip.AddrPort // peer differs when a PROXY header named the client
	listener, pool     string
	upstream, sni      string
	attempts           int
	bytesUp, bytesDown int64
	outcome            string
	err                error
}

// log writes the access log line (msg="proxy conn closed").
func (a *Appliance) logConn(e *entry) {
	attrs := []any{"client", e.client, "listener", e.listener, "pool", e.pool, "upstream", e.upstream,
		"bytes_up", e.bytesUp, "bytes_down", e.bytesDown, "duration", time.Since(e.start).Round(time.Millisecond),
		"outcome", e.outcome}
	if e.peer != e.client {
		attrs = append(attrs, "peer", e.peer)
	}
	if e.sni != "" {
		attrs = append(attrs, "sni", e.sni)
	}
	if e.attempts > 1 {
		attrs = append(attrs, "attempts", e.attempts)
	}
	if e.err != nil {
		attrs = append(attrs, "err", e.err)
	}
	a.log.Info("proxy conn closed", attrs...)
}

// handle serves one accepted client: the PROXY header if the listener
// takes one, the ClientHello or TLS handshake if it routes by name or
// terminates TLS, a connection to an upstream of the pool, the PROXY
// header to it if the pool sends one, then flow.Proxy both ways.
func (l *listener) handle(c *tcp.Conn, peer netip.AddrPort, set *listenerSet) {
	a := l.a
	cfg := &set.cfg
	e := entry{start: time.Now(), client: peer, peer: peer, listener: cfg.Name, outcome: "ok"}
	defer a.logConn(&e)
	var cf flow.Flow = c // what we speak to the client through
	var prefix []byte    // bytes read from the client, for the upstream

	// A refusal after the accept is counted and in the access log line
	// (the refusal log is for SYN-time refusals, which have no line).
	refuse := func(r reason, err error) {
		l.refused[r].Add(1)
		e.outcome, e.err = r.String(), err
		flow.Abort(cf)
	}

	if cfg.AcceptProxy {
		c.SetReadDeadline(e.start.Add(cfg.ProxyTimeout))
		h, rest, err := proxyproto.Read(c, 0)
		c.SetReadDeadline(time.Time{})
		if err != nil {
			refuse(refProxyHeader, err)
			return
		}
		if h.Relayed() {
			e.client = netip.AddrPortFrom(h.Source.Addr().Unmap(), h.Source.Port())
		}
		if own := a.own(); !allowed(cfg.Allow, &own, e.client.Addr()) {
			refuse(refACL, nil)
			return
		}
		if ok, r := l.lim.acquire(e.client.Addr()); !ok {
			refuse(r, nil)
			return
		}
		prefix = rest
	}
	defer l.lim.release(e.client.Addr())

	pl := set.pool
	switch {
	case set.tls != nil:
		t, name, err := set.tls.handshake(l.ctx, flow.WithPrefix(c, prefix), cfg.HelloTimeout)
		prefix = nil
		if err != nil {
			refuse(refTLS, err)
			return
		}
		cf, e.sni = t, name
		if set.router != nil {
			pl = set.router.route(name)
		}
	case set.router != nil:
		c.SetReadDeadline(time.Now().Add(cfg.HelloTimeout))
		hello, raw, err := tlshello.Read(flow.WithPrefix(c, prefix), cfg.MaxHello)
		c.SetReadDeadline(time.Time{})
		if err != nil {
			refuse(refHello, err)
			return
		}
		prefix, e.sni = raw, hello.ServerName
		pl = set.router.route(hello.ServerName)
	}
	e.pool = pl.cfg.Name

	up, u, attempts, err := pl.dial(l.ctx, a.dialer, e.client.Addr())
	e.attempts = attempts
	if u != nil {
		e.upstream = u.addr
	}
	if err != nil {
		if errors.Is(err, errNoUpstream) {
			pl.refused.Add(1)
			refuse(refNoUpstream, nil)
			return
		}
		a.upstreamErrors.Add(1)
		e.outcome, e.err = dialOutcome(err), err
		// The client is reset: it was not served, and must not
		// take the end of its stream for an answer.
		flow.Abort(cf)
		return
	}
	defer u.done()
	// As HAProxy and nginx's stream module: no Nagle on either side. The
	// proxy writes what it has just read; holding a small write back for
	// an ACK only adds the peer's delayed-ACK time to every exchange.
	c.SetNoDelay(true)
	up.SetNoDelay(true)
	pl.conns.Add(1)
	if !addrPort(up.RemoteAddr()).Addr().Is4() {
		pl.conns6.Add(1)
	}
	pl.active.Add(1)
	defer pl.active.Add(-1)

	us := &counted{Flow: up, n: [3]*atomic.Uint64{&u.bytesSent, &l.bytesIn, &a.bytesUp}}
	cs := &counted{Flow: cf, n: [3]*atomic.Uint64{&u.bytesRecv, &l.bytesOut, &a.bytesDown}}
	if pl.cfg.SendProxy != 0 || len(prefix) > 0 {
		first := make([]byte, 0, 64+len(prefix))
		if pl.cfg.SendProxy != 0 {
			h := proxyproto.Header{Command: proxyproto.Proxy, Transport: proxyproto.TCP, Source: e.client, Dest: addrPort(c.LocalAddr())}
			if pl.cfg.SendProxy == 1 {
				first = h.AppendV1(first)
			} else {
				first = h.AppendV2(first)
			}
		}
		first = append(first, prefix...)
		up.SetWriteDeadline(time.Now().Add(pl.cfg.ConnectTimeout))
		_, err := up.Write(first)
		up.SetWriteDeadline(time.Time{})
		us.note(len(prefix))
		e.bytesUp = int64(len(prefix))
		if err != nil {
			a.upstreamErrors.Add(1)
			e.outcome, e.err = "upstream-error", err
			flow.Abort(cf)
			up.Abort()
			return
		}
	}

	res, err := flow.Proxy(l.ctx, cs, us, flow.Options{IdleTimeout: cfg.IdleTimeout})
	e.bytesUp += res.AToB
	e.bytesDown = res.BToA
	e.err = err
	switch {
	case err == nil:
	case errors.Is(err, flow.ErrIdleTimeout):
		e.outcome = "idle-timeout"
		l.idleTimeouts.Add(1)
	case res.AReset:
		e.outcome = "client-reset"
		l.clientResets.Add(1)
	case res.BReset:
		e.outcome = "upstream-reset"
		l.upstreamResets.Add(1)
	case l.ctx.Err() != nil:
		e.outcome = "shutdown"
	default:
		e.outcome = "error"
	}
}

// dialOutcome names why no upstream could be reached.
func dialOutcome(err error) string {
	switch {
	case errors.Is(err, tcp.ErrRefused):
		return "upstream-refused"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, tcp.ErrTimeout), errors.Is(err, errAttemptTimeout):
		return "connect-timeout"
	case errors.Is(err, tcp.ErrUnreachable):
		return "upstream-unreachable"
	case errors.Is(err, context.Canceled):
		return "shutdown"
	}
	return "upstream-error"
}

// counted is one end of a proxied connection that counts the bytes
// written to it, as they go, in up to three counters (upstream, listener,
// appliance).
type counted struct {
	flow.Flow
	n [3]*atomic.Uint64
}

func (c *counted) note(k int) {
	for _, p := range c.n {
		p.Add(uint64(k))
	}
}

// Write implements net.Conn.Write.
func (c *counted) Write(b []byte) (int, error) {
	n, err := c.Flow.Write(b)
	c.note(n)
	return n, err
}

// Abort implements flow.Aborter.
func (c *counted) Abort() error { return flow.Abort(c.Flow) }

// Unwrap implements flow.Counter: flow.Proxy splices the connections
// underneath and tells Count what it moved.
func (c *counted) Unwrap() flow.Flow { return c.Flow }

// Count implements flow.Counter.
func (c *counted) Count(n int) { c.note(n) }
