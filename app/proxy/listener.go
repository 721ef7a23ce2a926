package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/stack/tcp"
)

// Reasons a client is refused, each counted per listener.
type reason uint8

const (
	refACL          reason = iota // client address not allowed (at SYN time; after the PROXY header: reset)
	refProxySource                // PROXY header expected, source not in proxy_from (at SYN time)
	refMaxConns                   // max_conns reached (reset after the handshake)
	refMaxPerClient               // max_per_client reached
	refNoUpstream                 // no healthy upstream in the pool (at SYN time when the pool is known, else reset)
	refProxyHeader                // PROXY header malformed, too long, or not complete in time
	refHello                      // ClientHello malformed, too long, or not complete in time
	refTLS                        // TLS handshake failed
	numReasons
)

var reasonNames = [numReasons]string{"acl", "proxy-source", "max-conns", "max-per-client", "no-upstream",
	"proxy-header", "hello", "tls"}

func (r reason) String() string { return reasonNames[r] }

// listener is one port of the appliance. Its settings (listenerSet) are
// swapped whole on reload; the port, the tcp.Listener and the counters
// stay.
type listener struct {
	a    *Appliance
	port uint16
	ln   *tcp.Listener
	set  atomic.Pointer[listenerSet]
	lim  *limiter

	ctx    context.Context // the flows' context: cancelled when the grace period ends
	cancel context.CancelFunc
	conns  sync.WaitGroup // connection handlers
	loop   sync.WaitGroup // the accept loop

	accepted, bytesIn, bytesOut, idleTimeouts, clientResets, upstreamResets atomic.Uint64
	accepted6                                                               atomic.Uint64 // IPv6 clients' share of accepted
	active6                                                                 atomic.Int64  // and of active
	refused                                                                 [numReasons]atomic.Uint64
	active                                                                  atomic.Int64
}

// listenerSet is a listener's settings and the pools it uses.
type listenerSet struct {
	cfg    config.Listener
	pool   *pool   // the default pool
	router *router // SNI routes; nil without
	tls    *tlsTerm
}

// admit is the listener's accept filter, run when a SYN arrives, with the
// stack lock held (tcp.Listener.SetFilter): it reads only atomics and
// immutable settings, counts and queues a refusal, and never logs.
func (l *listener) admit(client netip.AddrPort) bool {
	set := l.set.Load()
	own := l.a.ownLocked()
	refuse := func(r reason) {
		l.refused[r].Add(1)
		l.a.refusals.note(client, set.cfg.Name, r.String())
	}
	if set.cfg.AcceptProxy {
		// The TCP peer is a proxy: it must be trusted. The client it
		// names is checked against allow once its header is read.
		if !allowed(set.cfg.ProxyFrom, &own, client.Addr()) {
			refuse(refProxySource)
			return false
		}
	} else if !allowed(set.cfg.Allow, &own, client.Addr()) {
		refuse(refACL)
		return false
	}
	if set.router == nil && set.tls == nil && set.pool.healthy() == 0 {
		// The pool is known before any byte: refuse now.
		set.pool.refused.Add(1)
		refuse(refNoUpstream)
		return false
	}
	return true
}

// serve accepts clients until the listener is closed.
func (l *listener) serve() {
	for {
		c, err := l.ln.AcceptContext(l.ctx)
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			l.a.log.Warn("proxy accept", "port", l.port, "err", err)
			continue
		}
		client := addrPort(c.RemoteAddr())
		set := l.set.Load()
		if !set.cfg.AcceptProxy {
			if ok, r := l.lim.acquire(client.Addr()); !ok {
				// Counted before the reset goes out: a client that sees
				// the reset sees the count too.
				l.refused[r].Add(1)
				c.Abort()
				l.a.refusals.note(client, set.cfg.Name, r.String())
				continue
			}
		}
		l.accepted.Add(1)
		l.active.Add(1)
		six := !client.Addr().Is4()
		if six {
			l.accepted6.Add(1)
			l.active6.Add(1)
		}
		l.conns.Go(func() {
			defer l.active.Add(-1)
			if six {
				defer l.active6.Add(-1)
			}
			l.handle(c, client, set)
		})
	}
}

// close stops accepting; open connections go on.
func (l *listener) close() {
	l.ln.Close()
	l.loop.Wait()
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}
