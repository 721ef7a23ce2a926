//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/app/proxy/conffile"
	"github.com/mirago/mirago/flow/flowtest"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

// nameServer is a kernel TCP server that greets each connection with its
// name and a newline, then echoes until EOF. It can be stopped (listener
// and connections closed: the kernel answers SYNs with RST) and started
// again on the same address.
type nameServer struct {
	t     *testing.T
	name  string
	addr  string
	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newNameServer(t *testing.T, tp *taptest.TAP, name string) *nameServer {
	ns := &nameServer{t: t, name: name, addr: net.JoinHostPort(tp.Kernel.String(), "0"), conns: map[net.Conn]bool{}}
	ns.start()
	ns.addr = ns.ln.Addr().String()
	t.Cleanup(ns.stop)
	return ns
}

func (ns *nameServer) start() {
	ln, err := net.Listen("tcp4", ns.addr)
	if err != nil {
		ns.t.Fatal(err)
	}
	ns.mu.Lock()
	ns.ln = ln
	ns.mu.Unlock()
	ns.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ns.mu.Lock()
			ns.conns[c] = true
			ns.mu.Unlock()
			ns.wg.Go(func() {
				defer func() { ns.mu.Lock(); delete(ns.conns, c); ns.mu.Unlock(); c.Close() }()
				c.Write([]byte(ns.name + "\n"))
				io.Copy(c, c)
			})
		}
	})
}

func (ns *nameServer) stop() {
	ns.mu.Lock()
	if ns.ln != nil {
		ns.ln.Close()
	}
	for c := range ns.conns {
		c.Close()
	}
	ns.mu.Unlock()
	ns.wg.Wait()
}

// greet connects to addr (from local, if valid) and returns the name the
// upstream greeted with, with the connection still open.
func greet(addr netip.AddrPort, local netip.Addr) (string, net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
	}
	c, err := d.Dial("tcp4", addr.String())
	if err != nil {
		return "", nil, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		c.Close()
		return "", nil, err
	}
	return strings.TrimSpace(line), c, nil
}

// tally makes n connections one after another and counts the upstreams
// that answered; any failure fails the test.
func tally(t *testing.T, addr netip.AddrPort, local netip.Addr, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := range n {
		name, c, err := greet(addr, local)
		if err != nil {
			t.Fatalf("connection %d of %d: %v", i+1, n, err)
		}
		c.Close()
		got[name]++
	}
	return got
}

// startTOML serves a configuration given as TOML text.
func startTOML(t *testing.T, tp *taptest.TAP, text string) *running {
	t.Helper()
	s, _ := tapStackOn(t, tp, "")
	f, err := conffile.Parse("test.toml", []byte(text), hostOptions)
	if err != nil {
		t.Fatalf("configuration:\n%v", err)
	}
	return startFile(t, s, tp, f)
}

// Three upstreams in the kernel behind a round-robin pool with health
// checks: one is stopped mid-test. Connections that reach for it while it
// is not yet marked down are retried on the next one, so no client
// connection fails; the checks mark it down (the others share the load
// evenly) and up again when it comes back (all three again). A connection
// it was serving is lost; those to the others are not.
func TestProxyPoolHealthRoundRobin(t *testing.T) {
	flowtest.CheckGoroutines(t)
	tp := taptest.New(t)
	ups := []*nameServer{newNameServer(t, tp, "u1"), newNameServer(t, tp, "u2"), newNameServer(t, tp, "u3")}
	r := startTOML(t, tp, fmt.Sprintf(`
[listener.web]
port = 8080
pool = "web"
[pool.web]
upstreams = [%q, %q, %q]
connect_timeout = "3s"
[pool.web.check]
interval = "100ms"
rise = 2
fall = 2
`, ups[0].addr, ups[1].addr, ups[2].addr))
	pl := r.p.pools["web"]

	if got := tally(t, r.addr, netip.Addr{}, 30); got["u1"] != 10 || got["u2"] != 10 || got["u3"] != 10 {
		t.Fatalf("all up: %v, want 10 each", got)
	}
	// One long connection on each upstream.
	held := map[string]net.Conn{}
	for len(held) < 3 {
		name, c, err := greet(r.addr, netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		if held[name] != nil {
			c.Close()
			continue
		}
		held[name] = c
		defer c.Close()
	}

	ups[1].stop()
	// Until the checks see it, connections that pick u2 are refused and
	// retried on the next upstream: none fails.
	retried := tally(t, r.addr, netip.Addr{}, 6)
	stacktest.WaitFor(t, "u2 marked down", 5*time.Second, func() bool { return !pl.ups[1].up.Load() })
	if retried["u2"] != 0 {
		t.Fatalf("u2 answered after it stopped: %v", retried)
	}
	if got := tally(t, r.addr, netip.Addr{}, 30); got["u1"] != 15 || got["u3"] != 15 {
		t.Fatalf("u2 down: %v, want u1 and u3 15 each", got)
	}
	// The connections to u1 and u3 still work; the one to u2 is gone.
	for name, c := range held {
		c.Write([]byte("ping\n"))
		line, err := bufio.NewReader(c).ReadString('\n')
		switch {
		case name == "u2" && err == nil:
			t.Fatalf("the connection u2 served still answers: %q", line)
		case name != "u2" && (err != nil || line != "ping\n"):
			t.Fatalf("the connection %s served was lost: %q, %v", name, line, err)
		}
	}

	ups[1].start()
	stacktest.WaitFor(t, "u2 marked up", 5*time.Second, func() bool { return pl.ups[1].up.Load() })
	if got := tally(t, r.addr, netip.Addr{}, 30); got["u1"] != 10 || got["u2"] != 10 || got["u3"] != 10 {
		t.Fatalf("u2 back: %v, want 10 each", got)
	}
	logs := r.logs.String()
	if !strings.Contains(logs, `msg="proxy upstream down" pool=web upstream=`+ups[1].addr) ||
		!strings.Contains(logs, `msg="proxy upstream up" pool=web upstream=`+ups[1].addr) {
		t.Fatalf("health changes not logged")
	}
	if n := pl.ups[1].connectFails.Load(); n == 0 && retried["u1"]+retried["u3"] == 6 {
		t.Logf("no connection reached u2 before it was marked down")
	}
}

// Source hashing over the same pool: each client address keeps its
// upstream; when that one goes down its clients move, and come back when
// it is up again, while the other clients never move.
func TestProxyPoolHealthSource(t *testing.T) {
	flowtest.CheckGoroutines(t)
	tp := taptest.New(t)
	ups := []*nameServer{newNameServer(t, tp, "u1"), newNameServer(t, tp, "u2"), newNameServer(t, tp, "u3")}
	// Twelve client addresses on the kernel side of the TAP.
	var clients []netip.Addr
	for i := range 12 {
		a := netip.AddrFrom4([4]byte{10, 199, byte(tp.N), byte(100 + i)})
		taptest.Run(t, "ip", "addr", "add", a.String()+"/32", "dev", tp.Name)
		clients = append(clients, a)
	}
	r := startTOML(t, tp, fmt.Sprintf(`
[listener.web]
port = 8080
pool = "web"
allow = ["10.199.0.0/16"]
[pool.web]
balance = "source"
upstreams = [%q, %q, %q]
[pool.web.check]
interval = "100ms"
rise = 1
fall = 1
`, ups[0].addr, ups[1].addr, ups[2].addr))
	pl := r.p.pools["web"]
	home := map[netip.Addr]string{}
	for _, c := range clients {
		got := tally(t, r.addr, c, 3)
		if len(got) != 1 {
			t.Fatalf("client %v went to %v: not sticky", c, got)
		}
		for name := range got {
			home[c] = name
		}
	}
	ups[1].stop()
	stacktest.WaitFor(t, "u2 marked down", 5*time.Second, func() bool { return !pl.ups[1].up.Load() })
	for _, c := range clients {
		got := tally(t, r.addr, c, 2)
		for name, n := range got {
			if n != 2 || (home[c] != "u2" && name != home[c]) || name == "u2" {
				t.Fatalf("u2 down: client %v (home %s) went to %v", c, home[c], got)
			}
		}
	}
	ups[1].start()
	stacktest.WaitFor(t, "u2 marked up", 5*time.Second, func() bool { return pl.ups[1].up.Load() })
	for _, c := range clients {
		if got := tally(t, r.addr, c, 2); got[home[c]] != 2 {
			t.Fatalf("u2 back: client %v (home %s) went to %v", c, home[c], got)
		}
	}
}

// When no upstream of the pool is healthy, a client is refused at once
// and counted: at SYN time (connection refused) on a plain listener, with
// a RST right after the ClientHello on an SNI listener, whose pool is
// known only then. When the upstream comes back, clients are served.
func TestProxyNoHealthyUpstream(t *testing.T) {
	tp := taptest.New(t)
	up := newNameServer(t, tp, "up")
	r := startTOML(t, tp, fmt.Sprintf(`
[listener.plain]
port = 8080
pool = "p"
[listener.sni]
port = 8443
pool = "p"
[listener.sni.sni]
"a.test" = "p"
[pool.p]
upstreams = [%q]
[pool.p.check]
interval = "100ms"
rise = 1
fall = 1
`, up.addr))
	pl := r.p.pools["p"]
	up.stop()
	stacktest.WaitFor(t, "the upstream marked down", 5*time.Second, func() bool { return pl.healthy() == 0 })
	start := time.Now()
	if _, _, err := greet(netip.AddrPortFrom(tp.OursAddr(), 8080), netip.Addr{}); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("plain listener: %v, want connection refused", err)
	}
	err, _ := sendAndRead(t, netip.AddrPortFrom(tp.OursAddr(), 8443), clientHello(t, "a.test"), false)
	if !errors.Is(err, syscall.ECONNRESET) || time.Since(start) > 2*time.Second {
		t.Fatalf("SNI listener: %v after %v, want a reset at once", err, time.Since(start))
	}
	stacktest.WaitFor(t, "the refusals counted", 5*time.Second, func() bool {
		return r.p.Stats().RefusedNoUp == 2 && pl.refused.Load() == 2
	})
	up.start()
	stacktest.WaitFor(t, "the upstream marked up", 5*time.Second, func() bool { return pl.healthy() == 1 })
	if got := tally(t, netip.AddrPortFrom(tp.OursAddr(), 8080), netip.Addr{}, 2); got["up"] != 2 {
		t.Fatalf("after recovery: %v", got)
	}
}
