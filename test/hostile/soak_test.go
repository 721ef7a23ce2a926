package hostile

import (
	"context"
	"io"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/impair"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
)

// TestTortureSoak: 50 clients each making 10 connections a second (dial,
// echo 256 bytes, close) through a faulty link for MIRAGO_SOAK (default
// 10m). Goroutines and heap must not grow between the first tenth and
// the end, and nearly every exchange must succeed.
func TestTortureSoak(t *testing.T) {
	torture(t)
	dur := 10 * time.Minute
	if s := os.Getenv("MIRAGO_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("MIRAGO_SOAK=%q: %v", s, err)
		}
		dur = d
	}
	l := newLAN(t)
	cfg := stack.Config{TCP: fastTCP()}
	cfg.TCP.UserTimeout = 10 * time.Second
	server := l.add(1, cfg, nil)
	faults := impair.Spec{Loss: 0.01, Dup: 0.005, Reorder: 0.01, Corrupt: 0.001, Delay: time.Millisecond, Seed: 42}
	client := l.add(2, cfg, &faults)

	ln, err := server.s.TCP().Listen(7)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var srv sync.WaitGroup
	srv.Add(1)
	go func() {
		defer srv.Done()
		for {
			c, err := ln.AcceptContext(ctx)
			if err != nil {
				return
			}
			srv.Add(1)
			go func() {
				defer srv.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				io.Copy(c, c)
			}()
		}
	}()

	var ok, failed atomic.Int64
	var g1 int
	var h1 uint64
	sample := func() (int, uint64) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapAlloc
	}
	g0, _ := sample()
	start := time.Now()
	end := start.Add(dur)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := make([]byte, 256)
			for j := range msg {
				msg[j] = byte(i + j)
			}
			buf := make([]byte, 256)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for time.Now().Before(end) {
				<-tick.C
				dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
				c, err := client.s.TCP().Dial(dctx, netip.AddrPortFrom(netip.AddrFrom4(server.addr), 7))
				dcancel()
				if err != nil {
					failed.Add(1)
					continue
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				_, err = c.Write(msg)
				if err == nil {
					_, err = io.ReadFull(c, buf)
				}
				if err == nil && string(buf) == string(msg) {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
				c.Close()
			}
		}()
	}
	// Baseline after the first tenth, when every client is running.
	warm := time.NewTimer(dur / 10)
	<-warm.C
	g1, h1 = sample()
	wg.Wait()
	stacktest.WaitFor(t, "client connections drain", 30*time.Second, func() bool { return openConns(client.s) == 0 })
	stacktest.WaitFor(t, "server connections drain", 30*time.Second, func() bool { return openConns(server.s) == 0 })
	g2, h2 := sample()
	cancel()
	ln.Close()
	srv.Wait()
	n, f := ok.Load(), failed.Load()
	t.Logf("soak %v: %d exchanges ok, %d failed; goroutines %d before, %d at 10%%, %d after; heap %d at 10%%, %d after",
		dur, n, f, g0, g1, g2, h1, h2)
	if n == 0 || f > n/20 {
		t.Errorf("%d of %d exchanges failed", f, n+f)
	}
	if g2 > g0+2 {
		t.Errorf("goroutines: %d before the clients, %d after they all ended", g0, g2)
	}
	if h2 > h1+8<<20 {
		t.Errorf("heap grew from %d to %d", h1, h2)
	}
	if m := client.s.Stats().TCP.Memory + server.s.Stats().TCP.Memory; m != 0 {
		t.Errorf("%d bytes of TCP memory after the soak", m)
	}
}
