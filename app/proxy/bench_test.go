package main

import (
	"context"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// The proxy path alone, without a TAP: the appliance on stack A, a client
// and an upstream on stack B, over the in-memory link (both stacks and
// the proxy in this process, so every figure also pays for the two
// endpoints). It bounds what the proxy and flow code can do; bench/
// proxybench measures the appliance as deployed, over a TAP.

// benchProxy serves one listener on 8080 of a to the upstream serve
// runs on b's port 9000, and returns a function that dials the proxy
// from b.
func benchProxy(b *testing.B, serve func(c *tcp.Conn)) func() *tcp.Conn {
	a, s := stacktest.Pair(b)
	ln, err := s.TCP().Listen(9000)
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c.(*tcp.Conn))
		}
	}()
	b.Cleanup(func() { ln.Close() })
	lc := config.NewListener("l", 8080, "p")
	lc.MaxConns, lc.MaxPerClient = 0, 0
	pc := config.NewPool("p")
	pc.Upstreams = []config.Upstream{{Addr: "10.0.0.2:9000", Weight: 1}}
	ap, err := New(a, &config.File{Listeners: []config.Listener{lc}, Pools: []config.Pool{pc}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := ap.Start(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ap.Serve(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	return func() *tcp.Conn { return dial(b, s) }
}

func dial(b *testing.B, s *stack.Stack) *tcp.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := s.TCP().Dial(ctx, netip.MustParseAddrPort("10.0.0.1:8080"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkProxyPath1MiB: 1 MiB objects on 8 kept-alive connections, as
// proxybench's big workload.
func BenchmarkProxyPath1MiB(b *testing.B) {
	obj := make([]byte, 1<<20)
	dial := benchProxy(b, func(c *tcp.Conn) {
		defer c.Close()
		req := make([]byte, 1)
		for {
			if _, err := io.ReadFull(c, req); err != nil {
				return
			}
			if _, err := c.Write(obj); err != nil {
				return
			}
		}
	})
	b.SetBytes(1 << 20)
	b.SetParallelism(4) // 8 connections on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := dial()
		buf := make([]byte, 64<<10)
		for pb.Next() {
			c.Write([]byte{1})
			for n := 0; n < 1<<20; {
				k, err := c.Read(buf)
				if err != nil {
					b.Error(err)
					return
				}
				n += k
			}
		}
	})
}

// BenchmarkProxyPath1KiB: 1 KiB request and answer round trips on one
// kept-alive connection.
func BenchmarkProxyPath1KiB(b *testing.B) {
	dial := benchProxy(b, func(c *tcp.Conn) {
		defer c.Close()
		io.Copy(c, c)
	})
	c := dial()
	c.SetNoDelay(true)
	msg := make([]byte, 1<<10)
	b.SetBytes(1 << 10)
	b.ResetTimer()
	for range b.N {
		c.Write(msg)
		if _, err := io.ReadFull(c, msg); err != nil {
			b.Fatal(err)
		}
	}
}
