package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/mirago/mirago/stack"
)

// serveUDP is the UDP half of Run without metrics, kept for callers of the
// earlier API (main_tamago.go); new code should call Run.
func serveUDP(ctx context.Context, s *stack.Stack, port uint16, log *slog.Logger) error {
	e := newServer(s, Config{Port: port, Log: log})
	uc, err := s.UDP.Bind(netip.AddrPortFrom(netip.Addr{}, e.cfg.Port))
	if err != nil {
		return fmt.Errorf("udp port %d: %w", port, err)
	}
	e.serveUDP(ctx, uc)
	return nil
}

// serveTCP is the TCP half of Run without metrics, kept for callers of the
// earlier API (main_tamago.go); new code should call Run.
func serveTCP(ctx context.Context, s *stack.Stack, port uint16, grace time.Duration, log *slog.Logger) error {
	e := newServer(s, Config{Port: port, Grace: grace, Log: log})
	ln, err := s.TCP.Listen(e.cfg.Port)
	if err != nil {
		return fmt.Errorf("tcp port %d: %w", port, err)
	}
	e.serveTCP(ctx, ln)
	return nil
}
