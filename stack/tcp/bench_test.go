package tcp

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/transport"
)

// pipeEnd is a zero-allocation in-memory link for benchmarks: segments are
// copied into recycled buffers and delivered by the benchmark loop.
type pipeEnd struct {
	mu   sync.Mutex
	l    *Layer
	addr inet.Addr
	out  *[][]byte // peer's inbound queue
	free *[][]byte
}

func (e *pipeEnd) Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	var p []byte
	if n := len(*e.free); n > 0 {
		p = (*e.free)[n-1]
		*e.free = (*e.free)[:n-1]
	} else {
		p = make([]byte, 0, 1600)
	}
	p = p[:b.Len()]
	b.CopyTo(p)
	*e.out = append(*e.out, p)
	return nil
}
func (e *pipeEnd) Headroom() int                       { return 34 }
func (e *pipeEnd) Offloads() netif.Offloads            { return netif.Offloads{} }
func (e *pipeEnd) MTU(inet.Addr) int                   { return 1500 }
func (e *pipeEnd) PortUnreachable(*transport.Packet)   {}
func (e *pipeEnd) Source(inet.Addr) (inet.Addr, error) { return e.addr, nil }

// BenchmarkBulk measures one-way bulk transfer through two Layers (both
// sides' protocol work, one goroutine, virtual clock).
func BenchmarkBulk(b *testing.B) {
	clk := clock.NewVirtual(epoch)
	var qs [2][][]byte
	var free [][]byte
	ends := [2]*pipeEnd{{addr: addrA}, {addr: addrB}}
	for i, e := range ends {
		e.out, e.free = &qs[1-i], &free
		q := timer.New(clk, &e.mu)
		e.l = mustNew(e, q, &e.mu, seededReader(uint64(i)), Config{})
	}
	deliver := func() bool {
		moved := false
		for i, e := range ends {
			q := qs[i]
			qs[i] = nil
			for _, p := range q {
				e.mu.Lock()
				e.l.Deliver(&transport.Packet{Src: ends[1-i].addr, Dst: e.addr, Payload: p})
				e.mu.Unlock()
				free = append(free, p)
				moved = true
			}
			if qs[i] == nil {
				qs[i] = q[:0]
			}
		}
		return moved
	}
	ln, _ := ends[1].l.Listen(80)
	var client *Conn
	ends[0].mu.Lock()
	client = ends[0].l.startDial(addrB, 80)
	ends[0].mu.Unlock()
	for deliver() {
	}
	server, err := ln.AcceptTCP()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	rbuf := make([]byte, 64<<10)
	b.SetBytes(1 << 20)
	b.ReportAllocs()
	stalls := 0
	b.ResetTimer()
	defer func() { b.ReportMetric(float64(stalls)/float64(b.N), "timerwaits/op") }()
	for i := 0; i < b.N; i++ {
		sent, recvd := 0, 0
		for recvd < 1<<20 {
			ends[0].mu.Lock()
			for sent < 1<<20 {
				m := client.tryWrite(buf[:min(len(buf), 1<<20-sent)])
				if m == 0 {
					break
				}
				sent += m
			}
			ends[0].mu.Unlock()
			moved := deliver()
			ends[1].mu.Lock()
			for {
				m, _ := server.tryRead(rbuf)
				if m == 0 {
					break
				}
				recvd += m
			}
			ends[1].mu.Unlock()
			if !moved {
				stalls++
				clk.Advance(10 * time.Millisecond) // delayed ACK
			}
		}
	}
}

// BenchmarkAPIPingPong is a 64-byte request/response over the blocking
// API (two goroutines, real clock, in-memory link with a goroutine per
// direction). A Nagle/delayed-ACK stall would show up as ~40ms/op.
func BenchmarkAPIPingPong(b *testing.B) {
	_, a, s := livePairB(b)
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(s, buf); err != nil {
				return
			}
			if _, err := s.Write(buf); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := a.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(a, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	a.Close()
	s.Close()
}

// BenchmarkAPIBulk is a one-way bulk transfer over the blocking API.
func BenchmarkAPIBulk(b *testing.B) {
	_, a, s := livePairB(b)
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, s)
		close(done)
	}()
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := a.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	a.CloseWrite()
	<-done
}

func livePairB(b *testing.B) (*liveNet, *Conn, *Conn) {
	n := newLiveNet(b, Config{})
	ln, err := n.ends[1].l.Listen(80)
	if err != nil {
		b.Fatal(err)
	}
	ac := make(chan *Conn, 1)
	go func() {
		c, _ := ln.AcceptTCP()
		ac <- c
	}()
	a, err := n.ends[0].l.Dial(context.Background(), addrPort("10.0.0.2:80"))
	if err != nil {
		b.Fatal(err)
	}
	return n, a, <-ac
}
