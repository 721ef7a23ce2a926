//go:build linux

package main

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/flow/flowtest"
	"github.com/mirago/mirago/internal/testkit/stacktest"
)

// upstreamFloods accepts one connection on ln, reads want bytes, then
// writes until a write has been held for blocked (the proxy stopped
// taking data: the client stopped reading and every buffer is full), then
// resets the connection. It closes reset when the RST is sent.
func upstreamFloods(t *testing.T, ln net.Listener, want int, blocked time.Duration) <-chan struct{} {
	reset := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer close(reset)
		defer func() { c.(*net.TCPConn).SetLinger(0); c.Close() }() // RST
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, want)); err != nil {
			t.Errorf("upstream read: %v", err)
			return
		}
		buf := make([]byte, 64<<10)
		for end := time.Now().Add(20 * time.Second); time.Now().Before(end); {
			c.SetWriteDeadline(time.Now().Add(blocked))
			if _, err := c.Write(buf); err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("upstream write: %v", err)
				}
				return
			}
		}
		t.Errorf("upstream writes were never held")
	}()
	return reset
}

// The issue 15 defect against the kernel: a client sends a request and
// stops reading; the upstream answers with more than all the buffers
// hold, then resets. In one case the client half-closed before the reset
// (the brief's order), in the other after our stack had taken the RST, so
// that the proxy met the reset in CloseWrite, where it used to end the
// client's stream with a FIN (outcome=error, no reset counted). Either
// way the client, reading again, must get the data and then a reset, and
// the proxy must log outcome=upstream-reset and count it.
func TestProxyUpstreamResetsWhileClientHalfClosed(t *testing.T) {
	for _, tc := range []struct {
		name           string
		halfCloseFirst bool
	}{{"half-close-then-reset", true}, {"reset-then-half-close", false}} {
		t.Run(tc.name, func(t *testing.T) {
			flowtest.CheckGoroutines(t)
			s, tp := tapStack(t, "")
			ln := kernelListener(t, tp)
			reset := upstreamFloods(t, ln, len("request"), 300*time.Millisecond)
			r := startProxy(t, s, tp, Config{Upstream: ln.Addr().String()})
			c, err := net.DialTimeout("tcp4", r.addr.String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.(*net.TCPConn).SetReadBuffer(64 << 10)
			if _, err := c.Write([]byte("request")); err != nil {
				t.Fatal(err)
			}
			if tc.halfCloseFirst {
				c.(*net.TCPConn).CloseWrite()
			}
			select {
			case <-reset:
			case <-time.After(30 * time.Second):
				t.Fatal("the upstream never reset")
			}
			stacktest.WaitFor(t, "our stack to take the upstream's RST", 5*time.Second, func() bool {
				return s.Stats().TCP.ResetsRecv >= 1
			})
			if !tc.halfCloseFirst {
				c.(*net.TCPConn).CloseWrite()
			}
			n, err, _ := readErr(t, c, 10*time.Second)
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("client read %d bytes, then %v; want a reset, never a clean end of a cut stream", n, err)
			}
			stacktest.WaitFor(t, "the log line", 5*time.Second, func() bool { return strings.Contains(r.logs.String(), "proxy conn closed") })
			if l := logLine(r.logs.String(), "proxy conn closed"); !strings.Contains(l, "outcome=upstream-reset") {
				t.Fatalf("log line: %s", l)
			}
			if st := r.p.Stats(); st.Resets != 1 {
				t.Fatalf("resets counted: %d, want 1", st.Resets)
			}
		})
	}
}
