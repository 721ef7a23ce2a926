// Package bench runs the same workloads on mirago and on gVisor's netstack,
// in one process, and reports both figures and their ratio (see
// cmd/benchall, which `make bench` runs).
//
// Every workload gets a fresh pair of stacks of one kind (Pair): client A
// and server B joined by an in-memory Ethernet link with a 1500-byte MTU.
// mirago runs on drivers/memlink; gVisor runs on gvnet.Link, a LinkEndpoint
// pair built the same way (one copy per frame into the receiver's bounded
// 256-frame ring on the sender's goroutine, one delivery goroutine per end
// that spins briefly and then parks, tail drop when full). Both stacks use
// 256 KiB TCP send and receive buffers, CUBIC, SACK and Nagle.
//
// The image workload (image.go) is the exception: it builds the qemu-virt
// echo image on each stack (app/echo and bench/image/gvecho), reports
// their sizes, and boots each under QEMU to measure its TCP echo from the
// host.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Sizes sets how much work each workload does.
type Sizes struct {
	BulkBytes    int64         // bulk: bytes sent one way, after BulkWarm
	BulkWarm     int64         // bulk: bytes sent before measuring
	WriteSize    int           // bulk and TAP: bytes per Write (and per Read buffer)
	RRCount      int           // request/response: measured round trips
	RRWarm       int           // request/response: round trips before measuring
	RRSize       int           // request/response: message size
	Conns        int           // connection rate: measured connections
	ConnWarm     int           // connection rate: connections before measuring
	Idle         int           // idle footprint: connections held open
	IdleMany     int           // idlemany: connections held open
	SweepFlows   []int         // sweep: simultaneous bulk flows, one point each
	SweepBuf     int           // sweep: bytes per Write and per Read buffer
	SweepWarm    time.Duration // sweep: traffic before the window
	SweepWindow  time.Duration // sweep: the measured window
	LoadConns    int           // rrload: busy background connections
	LoadRRCount  int           // rrload: measured round trips (at most)
	LoadRRWarm   int           // rrload: round trips before measuring (at most)
	LoadWarm     time.Duration // rrload: time for them (at least one)
	LoadWindow   time.Duration // rrload: measuring stops after this (at least 100 round trips)
	TAPBytes     int64         // TAP: bytes per direction
	ImageBytes   int64         // image, guest: bytes pushed through each image's TCP echo under QEMU
	GuestRAMStep int           // guest: the smallest -m is found to within this many MiB
	Reps         int           // runs of each workload per stack (median reported)
	Timeout      time.Duration // per run
}

// Full is the size of `make bench`.
func Full() Sizes {
	return Sizes{
		BulkBytes: 1 << 30, BulkWarm: 16 << 20, WriteSize: 128 << 10,
		RRCount: 20000, RRWarm: 2000, RRSize: 64,
		Conns: 10000, ConnWarm: 200,
		Idle:       1000,
		IdleMany:   100000,
		SweepFlows: []int{1, 16, 256, 4096}, SweepBuf: 64 << 10,
		SweepWarm: 500 * time.Millisecond, SweepWindow: 1500 * time.Millisecond,
		LoadConns: 1000, LoadRRCount: 20000, LoadRRWarm: 500, LoadWarm: 500 * time.Millisecond, LoadWindow: 3 * time.Second,
		TAPBytes:     512 << 20,
		ImageBytes:   16 << 20,
		GuestRAMStep: 1,
		Reps:         3,
		Timeout:      5 * time.Minute,
	}
}

// Quick is the size of -quick.
func Quick() Sizes {
	return Sizes{
		BulkBytes: 64 << 20, BulkWarm: 4 << 20, WriteSize: 128 << 10,
		RRCount: 2000, RRWarm: 200, RRSize: 64,
		Conns: 1000, ConnWarm: 50,
		Idle:       200,
		IdleMany:   10000,
		SweepFlows: []int{1, 16, 256, 4096}, SweepBuf: 64 << 10,
		SweepWarm: 100 * time.Millisecond, SweepWindow: 400 * time.Millisecond,
		LoadConns: 200, LoadRRCount: 2000, LoadRRWarm: 100, LoadWarm: 200 * time.Millisecond, LoadWindow: time.Second,
		TAPBytes:     64 << 20,
		ImageBytes:   4 << 20,
		GuestRAMStep: 4,
		Reps:         1,
		Timeout:      2 * time.Minute,
	}
}

// Tiny is the size of the package's own tests: just enough to exercise
// every code path.
func Tiny() Sizes {
	return Sizes{
		BulkBytes: 2 << 20, BulkWarm: 256 << 10, WriteSize: 128 << 10,
		RRCount: 100, RRWarm: 10, RRSize: 64,
		Conns: 20, ConnWarm: 2,
		Idle:       10,
		IdleMany:   50,
		SweepFlows: []int{1, 8}, SweepBuf: 16 << 10,
		SweepWarm: 200 * time.Millisecond, SweepWindow: 300 * time.Millisecond,
		LoadConns: 8, LoadRRCount: 50, LoadRRWarm: 5, LoadWarm: 100 * time.Millisecond, LoadWindow: time.Second,
		TAPBytes:     4 << 20,
		ImageBytes:   256 << 10,
		GuestRAMStep: 64,
		Reps:         1,
		Timeout:      time.Minute,
	}
}

// MeasureHook, if set, is called just before and just after a measured
// window ("start", "end"), outside the measurement; benchall uses it to
// write allocation profiles of the window alone.
var MeasureHook func(workload, phase string)

// Ports used by the workloads.
const (
	portBulk = 5001
	portRR   = 5002
	portConn = 5003
	portIdle = 5004
)

// BulkResult is one bulk transfer.
type BulkResult struct {
	Bytes      int64
	Elapsed    time.Duration
	CPU        time.Duration // process CPU time (user+system), both stacks
	Mallocs    uint64        // heap allocations, whole process
	AllocBytes uint64        // heap bytes allocated, whole process
}

// Gbps is the goodput in Gbit/s.
func (r BulkResult) Gbps() float64 { return float64(r.Bytes) * 8 / r.Elapsed.Seconds() / 1e9 }

// CPUPerGiB is process CPU seconds per GiB moved.
func (r BulkResult) CPUPerGiB() float64 { return r.CPU.Seconds() / (float64(r.Bytes) / (1 << 30)) }

// AllocsPerMiB is heap allocations per MiB moved.
func (r BulkResult) AllocsPerMiB() float64 {
	return float64(r.Mallocs) / (float64(r.Bytes) / (1 << 20))
}

// AllocBytesPerMiB is heap bytes allocated per MiB moved.
func (r BulkResult) AllocBytesPerMiB() float64 {
	return float64(r.AllocBytes) / (float64(r.Bytes) / (1 << 20))
}

// snapshot is a snapshot of the process's clocks and allocation counters.
type snapshot struct {
	wall       time.Time
	cpu        time.Duration
	mallocs    uint64
	allocBytes uint64
}

func takeSnapshot() snapshot {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return snapshot{wall: time.Now(), cpu: cpuTime(), mallocs: ms.Mallocs, allocBytes: ms.TotalAlloc}
}

// errTimeout reports a workload that did not finish within Sizes.Timeout.
var errTimeout = errors.New("workload timed out")

// guard closes everything registered with it when a workload overruns its
// timeout, which unblocks any Read, Write or Accept in progress. The
// workloads use it instead of I/O deadlines so that the measured paths run
// as they would for an application without deadlines.
type guard struct {
	mu    sync.Mutex
	cs    []io.Closer
	fired bool
	t     *time.Timer
}

func newGuard(d time.Duration) *guard {
	g := &guard{}
	g.t = time.AfterFunc(d, func() {
		g.mu.Lock()
		g.fired = true
		cs := g.cs
		g.mu.Unlock()
		for _, c := range cs {
			c.Close()
		}
	})
	return g
}

// add registers c; if the guard already fired, c is closed at once.
func (g *guard) add(c io.Closer) {
	g.mu.Lock()
	fired := g.fired
	if !fired {
		g.cs = append(g.cs, c)
	}
	g.mu.Unlock()
	if fired {
		c.Close()
	}
}

// closerFunc adapts a function to io.Closer.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// stop disarms the guard.
func (g *guard) stop() { g.t.Stop() }

// err turns an error seen after the guard fired into errTimeout.
func (g *guard) err(err error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fired && err != nil {
		return fmt.Errorf("%w (%v)", errTimeout, err)
	}
	return err
}

// acceptOne runs one Accept in the background so that the caller can
// select on it together with a timeout.
func acceptOne(ln net.Listener) <-chan acceptResult {
	ch := make(chan acceptResult, 1)
	go func() {
		c, err := ln.Accept()
		ch <- acceptResult{c, err}
	}()
	return ch
}

// acceptAll accepts in one background goroutine until Accept fails (the
// listener is closed); the failure is the last value sent.
func acceptAll(ln net.Listener) <-chan acceptResult {
	ch := make(chan acceptResult, 16)
	go func() {
		for {
			c, err := ln.Accept()
			ch <- acceptResult{c, err}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

type acceptResult struct {
	c   net.Conn
	err error
}

// Bulk sends sz.BulkWarm and then sz.BulkBytes from A to B in
// sz.WriteSize writes; B reads with a buffer of the same size. Only the
// second part is measured: from just before its first Write until B has
// read its last byte. Clocks, CPU time and allocation counters are taken
// at those two points.
func Bulk(p Pair, sz Sizes) (BulkResult, error) {
	ln, err := p.Listen(portBulk)
	if err != nil {
		return BulkResult{}, err
	}
	defer ln.Close()
	g := newGuard(sz.Timeout)
	defer g.stop()
	g.add(ln)
	warmed := make(chan struct{})
	type readResult struct {
		n   int64
		err error
	}
	done := make(chan readResult, 1)
	accepted := acceptOne(ln)
	ctx, cancel := context.WithTimeout(context.Background(), sz.Timeout)
	defer cancel()
	c, err := p.Dial(ctx, portBulk)
	if err != nil {
		return BulkResult{}, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	g.add(c)
	go func() {
		a := <-accepted
		if a.err != nil {
			done <- readResult{0, a.err}
			return
		}
		s := a.c
		defer s.Close()
		g.add(s)
		buf := make([]byte, sz.WriteSize)
		var n int64
		warm := false
		for n < sz.BulkWarm+sz.BulkBytes {
			m, err := s.Read(buf)
			n += int64(m)
			if !warm && n >= sz.BulkWarm {
				warm = true
				close(warmed)
			}
			if err != nil {
				done <- readResult{n, err}
				return
			}
		}
		done <- readResult{n, nil}
	}()
	buf := make([]byte, sz.WriteSize)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	send := func(total int64) error {
		for total > 0 {
			m := int(min(int64(len(buf)), total))
			if _, err := c.Write(buf[:m]); err != nil {
				return fmt.Errorf("write: %w", g.err(err))
			}
			total -= int64(m)
		}
		return nil
	}
	if err := send(sz.BulkWarm); err != nil {
		return BulkResult{}, err
	}
	select {
	case <-warmed:
	case r := <-done:
		return BulkResult{}, fmt.Errorf("read during warm-up after %d bytes: %w", r.n, g.err(r.err))
	}
	if MeasureHook != nil {
		MeasureHook("bulk", "start")
	}
	start := takeSnapshot()
	if err := send(sz.BulkBytes); err != nil {
		return BulkResult{}, err
	}
	r := <-done
	end := takeSnapshot()
	markEnd(p)
	if MeasureHook != nil {
		MeasureHook("bulk", "end")
	}
	if r.err != nil {
		return BulkResult{}, fmt.Errorf("read after %d bytes: %w", r.n, g.err(r.err))
	}
	return BulkResult{
		Bytes:      sz.BulkBytes,
		Elapsed:    end.wall.Sub(start.wall),
		CPU:        end.cpu - start.cpu,
		Mallocs:    end.mallocs - start.mallocs,
		AllocBytes: end.allocBytes - start.allocBytes,
	}, nil
}

// RRResult is a latency distribution of request/response round trips.
type RRResult struct {
	P50, P99 time.Duration
	Count    int
}

// RequestResponse does sz.RRWarm and then sz.RRCount round trips of
// sz.RRSize bytes: A writes a message, B reads it whole and writes it
// back, A reads it whole. Each measured round trip is timed on its own.
func RequestResponse(p Pair, sz Sizes) (RRResult, error) {
	ln, err := p.Listen(portRR)
	if err != nil {
		return RRResult{}, err
	}
	defer ln.Close()
	g := newGuard(sz.Timeout)
	defer g.stop()
	g.add(ln)
	accepted := acceptOne(ln)
	ctx, cancel := context.WithTimeout(context.Background(), sz.Timeout)
	defer cancel()
	c, err := p.Dial(ctx, portRR)
	if err != nil {
		return RRResult{}, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	g.add(c)
	srvErr := make(chan error, 1)
	go func() {
		a := <-accepted
		if a.err != nil {
			srvErr <- a.err
			return
		}
		s := a.c
		defer s.Close()
		g.add(s)
		buf := make([]byte, sz.RRSize)
		for {
			if _, err := io.ReadFull(s, buf); err != nil {
				if err == io.EOF {
					err = nil
				}
				srvErr <- err
				return
			}
			if _, err := s.Write(buf); err != nil {
				srvErr <- err
				return
			}
		}
	}()
	msg := make([]byte, sz.RRSize)
	reply := make([]byte, sz.RRSize)
	lat := make([]time.Duration, sz.RRCount)
	for i := -sz.RRWarm; i < sz.RRCount; i++ {
		if i == 0 && MeasureHook != nil {
			MeasureHook("rr", "start")
		}
		msg[0] = byte(i)
		t0 := time.Now()
		if _, err := c.Write(msg); err != nil {
			return RRResult{}, fmt.Errorf("round trip %d: write: %w", i, g.err(err))
		}
		if _, err := io.ReadFull(c, reply); err != nil {
			return RRResult{}, fmt.Errorf("round trip %d: read: %w", i, g.err(err))
		}
		if i >= 0 {
			lat[i] = time.Since(t0)
		}
		if reply[0] != msg[0] {
			return RRResult{}, fmt.Errorf("round trip %d: wrong echo", i)
		}
	}
	markEnd(p)
	if MeasureHook != nil {
		MeasureHook("rr", "end")
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		if err := <-srvErr; err != nil {
			return RRResult{}, fmt.Errorf("server: %w", g.err(err))
		}
	}
	slices.Sort(lat)
	return RRResult{P50: percentile(lat, 50), P99: percentile(lat, 99), Count: len(lat)}, nil
}

// percentile returns the p-th percentile (nearest rank) of sorted d.
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (len(d)*p + 99) / 100 // ceil(n*p/100), 1-based rank
	return d[max(i-1, 0)]
}

// ConnResult is a connection rate.
type ConnResult struct {
	Conns   int
	Elapsed time.Duration
}

// PerSecond is connections per second.
func (r ConnResult) PerSecond() float64 { return float64(r.Conns) / r.Elapsed.Seconds() }

// ConnRate opens and closes connections one after another: A dials, B
// accepts, A closes, B closes; then the next. sz.ConnWarm connections are
// made before the sz.Conns measured ones. The client closes first, so its
// side keeps the TIME_WAIT state (the defaults of both stacks: 60s).
func ConnRate(p Pair, sz Sizes) (ConnResult, error) {
	ln, err := p.Listen(portConn)
	if err != nil {
		return ConnResult{}, err
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), sz.Timeout)
	defer cancel()
	accepted := acceptAll(ln)
	var t0 time.Time
	for i := -sz.ConnWarm; i < sz.Conns; i++ {
		if i == 0 {
			t0 = time.Now()
		}
		c, err := p.Dial(ctx, portConn)
		if err != nil {
			return ConnResult{}, fmt.Errorf("connection %d: dial: %w", i, err)
		}
		var a acceptResult
		select {
		case a = <-accepted:
		case <-ctx.Done():
			return ConnResult{}, errTimeout
		}
		if a.err != nil {
			return ConnResult{}, fmt.Errorf("connection %d: accept: %w", i, a.err)
		}
		c.Close()
		a.c.Close()
	}
	el := time.Since(t0)
	markEnd(p)
	return ConnResult{Conns: sz.Conns, Elapsed: el}, nil
}

// IdleResult is the memory held by idle established connections.
type IdleResult struct {
	Conns         int
	BytesPerConn  float64       // both ends: client and server endpoint
	HeapPerConn   float64       // of which the Go heap
	KernelPerConn float64       // of which kernel slab (linux only)
	Elapsed       time.Duration // to open them all
}

func (r IdleResult) String() string {
	s := fmt.Sprintf("%d connections opened in %v: %.0f bytes each (both ends)", r.Conns, r.Elapsed.Round(timeRound), r.BytesPerConn)
	if r.KernelPerConn != 0 {
		s += fmt.Sprintf(": %.0f Go heap + %.0f kernel socket slabs", r.HeapPerConn, r.KernelPerConn)
	}
	return s
}

// idlePerPort bounds the connections Idle opens to one server port, well
// inside every stack's ephemeral port range for one destination (mirago
// 16384, Linux 28232, gVisor 49536).
const idlePerPort = 12000

// Idle opens n connections and keeps them established and idle: on each,
// A sends one byte, B reads it and answers one byte, A reads it. The
// result is the growth of the live heap (HeapAlloc after two forced GCs)
// divided by n; for the kernel pair, plus the growth of the slab caches
// where the kernel keeps its sockets (netns.KernelSocketMemory,
// machine-wide). Both ends live in this process, so the figure is for one
// connection counted at both ends (client and server endpoints, including
// each API's net.Conn object). A few connections opened before the
// baseline absorb one-time allocations.
//
// Beyond idlePerPort connections the work is split over several server
// ports, one opener goroutine each (so more than one connection is being
// opened at a time).
func Idle(p Pair, n int, sz Sizes) (IdleResult, error) {
	nports := max(1, (n+idlePerPort-1)/idlePerPort)
	if restore, err := needFiles(p, 2*(n+8*nports)+1024); err == nil {
		defer restore()
	} else if m := maxKernelConns(); m < n {
		// The kernel keeps one file per socket, and this process may not
		// open enough: measure as many as it may (the figure is per
		// connection) and say so.
		noteRun(p, fmt.Sprintf("measured at %d connections, not %d: %v", m, n, err))
		n = m
		nports = max(1, (n+idlePerPort-1)/idlePerPort)
	} else {
		return IdleResult{}, err
	}
	g := newGuard(sz.Timeout)
	defer g.stop()
	ctx, cancel := context.WithTimeout(context.Background(), sz.Timeout)
	defer cancel()
	const warm = 4
	var mu sync.Mutex // guards conns against the guard's closer
	conns := make([]net.Conn, 0, 2*(n+warm*nports))
	closeAll := closerFunc(func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
		return nil
	})
	if isKernel(p) {
		defer closeAll() // files of this process
	}
	// The in-process stacks' connections go with their pair, which is
	// much faster than closing each (gVisor: minutes at 100,000).
	g.add(closeAll)
	type opener struct {
		port     uint16
		accepted <-chan acceptResult
	}
	openers := make([]opener, nports)
	for i := range openers {
		port := uint16(portIdle + i)
		ln, err := p.Listen(port)
		if err != nil {
			return IdleResult{}, err
		}
		defer ln.Close()
		g.add(ln)
		openers[i] = opener{port, acceptAll(ln)}
	}
	open := func(o opener) error {
		var b [1]byte
		c, err := p.Dial(ctx, o.port)
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		var a acceptResult
		select {
		case a = <-o.accepted:
		case <-ctx.Done():
			c.Close()
			return errTimeout
		}
		if a.err != nil {
			c.Close()
			return fmt.Errorf("accept: %w", a.err)
		}
		mu.Lock()
		conns = append(conns, c, a.c)
		mu.Unlock()
		if _, err := c.Write(b[:]); err != nil {
			return g.err(err)
		}
		if _, err := io.ReadFull(a.c, b[:]); err != nil {
			return g.err(err)
		}
		if _, err := a.c.Write(b[:]); err != nil {
			return g.err(err)
		}
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return g.err(err)
		}
		return nil
	}
	for _, o := range openers {
		for range warm {
			if err := open(o); err != nil {
				return IdleResult{}, err
			}
		}
	}
	k0, _ := kernelMemory(p)
	before := settledHeap()
	t0 := time.Now()
	errs := make(chan error, nports)
	for i, o := range openers {
		go func() {
			count := n / nports
			if i < n%nports {
				count++
			}
			for range count {
				if err := open(o); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var err error
	for range openers {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return IdleResult{}, err
	}
	elapsed := time.Since(t0)
	after := liveHeap()
	k1, _ := kernelMemory(p)
	markEnd(p)
	runtime.KeepAlive(conns)
	r := IdleResult{Conns: n, Elapsed: elapsed,
		HeapPerConn:   (float64(after) - float64(before)) / float64(n),
		KernelPerConn: (float64(k1) - float64(k0)) / float64(n),
	}
	r.BytesPerConn = r.HeapPerConn + r.KernelPerConn
	return r, nil
}

// settledHeap is liveHeap once it has stopped falling (at most 5 rounds):
// a baseline taken while an earlier run's memory is still being released
// would make the next figure too small.
func settledHeap() uint64 {
	h := liveHeap()
	for range 5 {
		h2 := liveHeap()
		if h2+(1<<20) > h {
			return min(h, h2)
		}
		h = h2
	}
	return h
}

// liveHeap returns HeapAlloc after two GCs (the second also empties
// sync.Pool victim caches).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
