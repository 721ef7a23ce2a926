// Command echo is the echo appliance: the RFC 862 echo service over TCP
// and UDP, plus ICMP echo (ping), which the stack answers itself.
package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// serveUDP echoes every datagram received on port back to its sender
// (RFC 862) until ctx is done.
func serveUDP(ctx context.Context, s *stack.Stack, port uint16, log *slog.Logger) error {
	c, err := s.UDP.Bind(netip.AddrPortFrom(netip.Addr{}, port))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFromAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			log.Debug("udp echo read", "err", err)
			continue
		}
		if _, err := c.WriteToAddrPort(buf[:n], from); err != nil {
			log.Debug("udp echo write", "to", from, "err", err)
		}
	}
}

// serveTCP accepts connections on port and echoes each one (RFC 862) until
// the peer half-closes, then flushes and closes. When ctx is done it stops
// accepting, gives open connections grace to finish, then closes them.
func serveTCP(ctx context.Context, s *stack.Stack, port uint16, grace time.Duration, log *slog.Logger) error {
	ln, err := s.TCP.Listen(port)
	if err != nil {
		return err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[*tcp.Conn]struct{}{}
	)
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				log.Warn("tcp accept", "err", err)
				continue
			}
			break
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := echoConn(c)
			log.Debug("tcp echo done", "peer", c.RemoteAddr(), "bytes", n, "err", err)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(grace):
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		<-finished
	}
	return nil
}

// echoConn copies c's input back to it; at EOF it half-closes, which
// flushes what is buffered, then closes.
func echoConn(c *tcp.Conn) (int64, error) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, c.CloseWrite()
		}
		if err != nil {
			return total, err
		}
	}
}
