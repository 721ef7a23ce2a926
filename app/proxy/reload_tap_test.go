//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/app/proxy/conffile"
	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

// Reload under load: clients loop through the proxy (a new connection,
// a greeting and a round trip each time) while the configuration is
// reloaded twenty times, moving the pool between upstreams, changing
// weights and balance, and adding and removing a second listener. No
// request fails, a long connection opened before the first reload works
// after the last, a removed listener refuses and an added one serves,
// and a reload that cannot be applied (its new port is taken) is refused
// with nothing changed.
func TestProxyReloadUnderLoad(t *testing.T) {
	tp := taptest.New(t)
	s, _ := tapStackOn(t, tp, "")
	ups := []*nameServer{newNameServer(t, tp, "u1"), newNameServer(t, tp, "u2"), newNameServer(t, tp, "u3")}
	conf := func(i int) *config.File {
		pool := fmt.Sprintf("upstreams = [%q, %q]", ups[0].addr, ups[1].addr)
		extra := ""
		if i%2 == 1 {
			pool = fmt.Sprintf("upstreams = [{ addr = %q, weight = 2 }, %q]\nbalance = \"leastconn\"", ups[1].addr, ups[2].addr)
			extra = "[listener.extra]\nport = 8082\npool = \"p\"\n"
		}
		text := fmt.Sprintf("grace = \"1s\"\n[listener.web]\nport = 8080\npool = \"p\"\n%s[pool.p]\n%s\n[pool.p.check]\ninterval = \"200ms\"\n", extra, pool)
		f, err := conffile.Parse("reload.toml", []byte(text), hostOptions)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	r := startFile(t, s, tp, conf(0))
	long, longName, err := greetConn(r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, _, err := greetConn(r.addr)
				if err == nil {
					err = roundTrip(c, "x")
					c.Close()
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				ok.Add(1)
			}
		})
	}
	extra := netip.AddrPortFrom(tp.OursAddr(), 8082)
	for i := 1; i <= 20; i++ {
		before := ok.Load()
		if err := r.p.Reload(conf(i)); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		if i%2 == 1 {
			if _, c, err := greet(extra, netip.Addr{}); err != nil {
				t.Fatalf("reload %d: the added listener: %v", i, err)
			} else {
				c.Close()
			}
		} else {
			_, _, err := greet(extra, netip.Addr{})
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("reload %d: the removed listener: %v, want connection refused", i, err)
			}
		}
		stacktest.WaitFor(t, "requests between reloads", 10*time.Second, func() bool { return ok.Load() > before+20 })
	}
	// A reload whose new port is taken is refused, and nothing changes:
	// listener extra (added by the same file) is not left open.
	taken, err := s.TCP().Listen(8083)
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	bad := conf(1)
	bad.Listeners = append(bad.Listeners, config.NewListener("taken", 8083, "p"))
	if err := r.p.Reload(bad); err == nil || !strings.Contains(err.Error(), "port 8083") {
		t.Fatalf("reload onto a taken port: %v", err)
	}
	if _, _, err := greet(extra, netip.Addr{}); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("a refused reload left its new listener open: %v", err)
	}
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during the reloads; first: %v", n, n+ok.Load(), firstErr.Load())
	}
	if err := roundTrip(long, "still here"); err != nil {
		t.Fatalf("the connection to %s opened before the reloads: %v", longName, err)
	}
	t.Logf("%d requests, none failed, across 20 reloads", ok.Load())
}

// greetConn connects to addr and reads the upstream's greeting.
func greetConn(addr netip.AddrPort) (net.Conn, string, error) {
	name, c, err := greet(addr, netip.Addr{})
	return c, name, err
}

// roundTrip writes msg and a newline and reads it back.
func roundTrip(c net.Conn, msg string) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\n", msg); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != msg+"\n" {
		return fmt.Errorf("round trip: %q", line)
	}
	return nil
}
