// Command echo is the echo appliance: the RFC 862 echo service over TCP
// and UDP, plus ICMP echo (ping), which the stack answers itself.
//
// The logic (this file, without build tags) takes a *stack.Stack and a
// Config, so the host main (main.go) and a bare-metal main share it.
package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/logging"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
	"github.com/mirago/mirago/stack/udp"
)

// Config configures the echo service.
type Config struct {
	// Port is the TCP and UDP echo port (RFC 862: 7).
	Port uint16
	// Grace is how long open connections may go on after shutdown starts.
	Grace time.Duration
	// Metrics, if not 0, is the TCP port of the Prometheus endpoint.
	Metrics uint16
	// Log receives the log lines (*slog.Logger on a host, a
	// logging.Console on a board); nil drops them.
	Log logging.Logger
	// NTPMetrics, if set, returns the SNTP client's metrics
	// (sntp.Metrics, as any so that images without NTP do not link the
	// client) for the metrics endpoint: mirago_ntp_...
	NTPMetrics func() any
	// NTPGauges names NTPMetrics' gauge fields (sntp.MetricGauges).
	NTPGauges map[string]bool
}

// DefaultGrace is the default Config.Grace.
const DefaultGrace = 5 * time.Second

// Stats are the echo service's own counters.
type Stats struct {
	// Counters are both families' (IPv4's are these less IPv6's).
	Counters
	// IPv6 is the IPv6 share of Counters (clients over IPv6): the
	// metrics have a sample per family.
	IPv6 Counters
}

// Counters are the echo service's counters, kept per address family.
type Counters struct {
	TCPAccepted  uint64 // connections accepted
	TCPBytes     uint64 // bytes echoed over TCP
	UDPDatagrams uint64 // datagrams echoed
	UDPBytes     uint64 // bytes echoed over UDP
	TCPActive    int64  // connections open now
}

// counters are one family's live Counters.
type counters struct {
	tcpAccepted, tcpBytes, udpDatagrams, udpBytes atomic.Uint64
	tcpActive                                     atomic.Int64
}

func (c *counters) load() Counters {
	return Counters{TCPAccepted: c.tcpAccepted.Load(), TCPBytes: c.tcpBytes.Load(),
		UDPDatagrams: c.udpDatagrams.Load(), UDPBytes: c.udpBytes.Load(), TCPActive: c.tcpActive.Load()}
}

// famOf is the index of a's family in server.cnt: 0 IPv4, 1 IPv6.
func famOf(a netip.Addr) int {
	if a.Unmap().Is4() {
		return 0
	}
	return 1
}

// server is one running echo service.
type server struct {
	s   *stack.Stack
	cfg Config
	log logging.Logger
	uc  *udp.Conn
	ln  *tcp.Listener
	mln *tcp.Listener

	cnt [2]counters // by family (famOf)
}

func newServer(s *stack.Stack, cfg Config) *server {
	if cfg.Port == 0 {
		cfg.Port = 7
	}
	return &server{s: s, cfg: cfg, log: logging.OrDiscard(cfg.Log)}
}

// Stats returns a snapshot of the counters.
func (e *server) Stats() Stats {
	v4, v6 := e.cnt[0].load(), e.cnt[1].load()
	return Stats{IPv6: v6, Counters: Counters{
		TCPAccepted: v4.TCPAccepted + v6.TCPAccepted, TCPBytes: v4.TCPBytes + v6.TCPBytes,
		UDPDatagrams: v4.UDPDatagrams + v6.UDPDatagrams, UDPBytes: v4.UDPBytes + v6.UDPBytes,
		TCPActive: v4.TCPActive + v6.TCPActive,
	}}
}

// Run serves TCP and UDP echo on cfg.Port, and the metrics endpoint if
// cfg.Metrics is set, until ctx ends; then it stops accepting, lets open
// connections finish for cfg.Grace, closes the rest and returns. It
// returns an error only if a port cannot be bound.
func Run(ctx context.Context, s *stack.Stack, cfg Config) error {
	e := newServer(s, cfg)
	if err := e.start(); err != nil {
		return err
	}
	e.serve(ctx)
	return nil
}

// start binds the echo ports and the metrics port.
func (e *server) start() error {
	uc, err := e.s.UDP().Bind(netip.AddrPortFrom(netip.Addr{}, e.cfg.Port))
	if err != nil {
		return xerr.Wrap("udp port "+strconv.Itoa(int(e.cfg.Port)), err)
	}
	ln, err := e.s.TCP().Listen(e.cfg.Port)
	if err != nil {
		uc.Close()
		return xerr.Wrap("tcp port "+strconv.Itoa(int(e.cfg.Port)), err)
	}
	if e.cfg.Metrics != 0 {
		if e.mln, err = e.s.TCP().Listen(e.cfg.Metrics); err != nil {
			uc.Close()
			ln.Close()
			return xerr.Wrap("metrics port "+strconv.Itoa(int(e.cfg.Metrics)), err)
		}
	}
	e.uc, e.ln = uc, ln
	return nil
}

// serve runs the services started by start until ctx ends, then shuts
// down gracefully (see Run).
func (e *server) serve(ctx context.Context) {
	if e.mln != nil {
		defer e.serveMetrics()()
	}
	e.log.Info("echo serving", "port", e.cfg.Port)
	var uwg sync.WaitGroup
	uwg.Go(func() { e.serveUDP(ctx, e.uc) })
	e.serveTCP(ctx, e.ln)
	uwg.Wait()
}

// serveUDP echoes every datagram received on c back to its sender
// (RFC 862) until ctx is done; it closes c.
func (e *server) serveUDP(ctx context.Context, c *udp.Conn) {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFromAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			e.log.Debug("udp echo read", "err", err)
			continue
		}
		if _, err := c.WriteToAddrPort(buf[:n], from); err != nil {
			e.log.Debug("udp echo write", "to", from, "err", err)
			continue
		}
		cnt := &e.cnt[famOf(from.Addr())]
		cnt.udpDatagrams.Add(1)
		cnt.udpBytes.Add(uint64(n))
	}
}

// serveTCP accepts connections on ln and echoes each one (RFC 862) until
// the peer half-closes, then flushes and closes. When ctx is done it stops
// accepting, gives open connections the grace period to finish, then
// closes them. It closes ln.
func (e *server) serveTCP(ctx context.Context, ln *tcp.Listener) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[*tcp.Conn]struct{}{}
	)
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.AcceptContext(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				e.log.Warn("tcp accept", "err", err)
				continue
			}
			break
		}
		cnt := &e.cnt[famOf(c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr())]
		cnt.tcpAccepted.Add(1)
		cnt.tcpActive.Add(1)
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			defer cnt.tcpActive.Add(-1)
			start := time.Now()
			n, err := echoConn(c, &cnt.tcpBytes)
			e.log.Debug("tcp echo done", "peer", c.RemoteAddr(), "bytes", n, "duration", time.Since(start), "err", err)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		})
	}
	ln.Close()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(e.cfg.Grace):
		mu.Lock()
		e.log.Info("echo grace period over: closing", "open", len(conns))
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		<-finished
	}
}
