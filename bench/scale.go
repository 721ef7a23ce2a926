package bench

// How cost grows with work: many simultaneous bulk flows (Sweep), request
// latency while many other connections are busy (RRUnderLoad), and memory
// at many idle connections (Idle with Sizes.IdleMany).

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mirago/mirago/bench/netns"
)

// Ports of the scale workloads.
const (
	portSweep = 5010
	portLoad  = 5011
)

// SweepResult is one point of the concurrency sweep.
type SweepResult struct {
	Flows   int
	Gbps    float64 // aggregate goodput over the window
	Jain    float64 // Jain's fairness index of the flows' bytes in the window (1: equal; 0: nothing moved)
	Starved int     // flows that moved no byte in the window
	MinMax  [2]float64
	Window  time.Duration
	Total   int64 // bytes the flows delivered from the start to the end of the window
}

func (r SweepResult) String() string {
	return fmt.Sprintf("%d flows: %.2f Gbit/s aggregate over %v, Jain %.3f, per-flow share %.2f..%.2f of fair, %d starved",
		r.Flows, r.Gbps, r.Window.Round(timeRound), r.Jain, r.MinMax[0], r.MinMax[1], r.Starved)
}

// jain is Jain's fairness index (sum x)^2 / (n sum x^2): 1 when every flow
// got the same, 1/n when one flow got everything.
func jain(x []float64) float64 {
	var s, s2 float64
	for _, v := range x {
		s += v
		s2 += v * v
	}
	if s2 == 0 {
		return 0
	}
	return s * s / (float64(len(x)) * s2)
}

// firstError keeps the first error the workload's goroutines report
// before the measurement ends; errors after it (connections closed by the
// teardown) are expected and dropped.
type firstError struct {
	mu    sync.Mutex
	err   error
	ended bool
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	if !f.ended && f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

// end stops recording and returns the first error.
func (f *firstError) end() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = true
	return f.err
}

// flowCounter is one flow's byte count, alone on its cache line so that
// the flows' readers do not share lines.
type flowCounter struct {
	n atomic.Int64
	_ [56]byte
}

// Sweep runs flows simultaneous bulk transfers from A to B: every flow
// writes sz.SweepBuf-byte chunks as fast as its connection takes them, and
// B reads each with its own sz.SweepBuf buffer. All connections are
// established first; after sz.SweepWarm the bytes each flow delivered
// during sz.SweepWindow are counted. The result is the aggregate goodput
// and how evenly it was shared.
func Sweep(p Pair, flows int, sz Sizes) (SweepResult, error) {
	restore, err := needFiles(p, 2*flows+1024)
	if err != nil {
		return SweepResult{}, err
	}
	defer restore()
	if isKernel(p) {
		// Room for the kernel's buffers: 1 MiB per flow before memory
		// pressure, 2 MiB at most (tcp_mem is machine-wide; restored
		// after).
		restore, err := netns.RaiseTCPMem(uint64(flows)<<20, uint64(flows)<<21)
		if err != nil {
			return SweepResult{}, err
		}
		defer restore()
	}
	ln, err := p.Listen(portSweep)
	if err != nil {
		return SweepResult{}, err
	}
	defer ln.Close()
	g := newGuard(sz.Timeout)
	defer g.stop()
	g.add(ln)
	ctx, cancel := context.WithTimeout(context.Background(), sz.Timeout)
	defer cancel()
	accepted := acceptAll(ln)

	var (
		stop   atomic.Bool
		wg     sync.WaitGroup
		counts = make([]flowCounter, flows)
		start  = make(chan struct{})
		werr   firstError
	)
	fail := werr.set
	var conns []net.Conn
	defer func() {
		stop.Store(true)
		for _, c := range conns {
			abortClose(c) // data is still queued: no orphans
		}
		wg.Wait()
	}()
	wbuf := make([]byte, sz.SweepBuf) // read-only, shared by the writers
	for i := range wbuf {
		wbuf[i] = byte(i * 7)
	}
	for i := range flows {
		c, err := p.Dial(ctx, portSweep)
		if err != nil {
			return SweepResult{}, fmt.Errorf("flow %d: dial: %w", i, g.err(err))
		}
		conns = append(conns, c)
		g.add(c)
		var a acceptResult
		select {
		case a = <-accepted:
		case <-ctx.Done():
			return SweepResult{}, errTimeout
		}
		if a.err != nil {
			return SweepResult{}, fmt.Errorf("flow %d: accept: %w", i, a.err)
		}
		conns = append(conns, a.c)
		g.add(a.c)
		wg.Add(2)
		go func(s net.Conn, cnt *atomic.Int64) {
			defer wg.Done()
			buf := make([]byte, sz.SweepBuf)
			for {
				n, err := s.Read(buf)
				cnt.Add(int64(n))
				if err != nil {
					fail(fmt.Errorf("read: %w", g.err(err)))
					return
				}
			}
		}(a.c, &counts[i].n)
		go func(c net.Conn) {
			defer wg.Done()
			<-start
			for !stop.Load() {
				if _, err := c.Write(wbuf); err != nil {
					fail(fmt.Errorf("write: %w", g.err(err)))
					return
				}
			}
		}(c)
	}
	close(start)
	snap := func() []float64 {
		v := make([]float64, flows)
		for i := range counts {
			v[i] = float64(counts[i].n.Load())
		}
		return v
	}
	// The warm-up and the window are durations of traffic, not waits for
	// an event: time.Sleep is the clock here.
	time.Sleep(sz.SweepWarm)
	s0, t0 := snap(), time.Now()
	time.Sleep(sz.SweepWindow)
	s1, t1 := snap(), time.Now()
	markEnd(p)
	stop.Store(true)
	if err := werr.end(); err != nil {
		return SweepResult{}, err
	}
	r := SweepResult{Flows: flows, Window: t1.Sub(t0)}
	for _, x := range s1 {
		r.Total += int64(x)
	}
	var total float64
	for i := range s1 {
		s1[i] -= s0[i]
		total += s1[i]
		if s1[i] == 0 {
			r.Starved++
		}
	}
	if fair := total / float64(flows); fair > 0 {
		r.MinMax = [2]float64{math.Inf(1), 0}
		for _, x := range s1 {
			r.MinMax[0] = min(r.MinMax[0], x/fair)
			r.MinMax[1] = max(r.MinMax[1], x/fair)
		}
	}
	r.Gbps = total * 8 / r.Window.Seconds() / 1e9
	r.Jain = jain(s1) // 0 if no flow moved a byte: a result, not a failure
	return r, nil
}

// RRLoadResult is request/response latency on one connection while many
// others are busy.
type RRLoadResult struct {
	P50, P99         time.Duration
	Count            int     // measured round trips
	Busy             int     // background connections
	BackgroundPerSec float64 // round trips/s of all background connections together during the measurement
}

func (r RRLoadResult) String() string {
	return fmt.Sprintf("%d round trips beside %d busy connections (%.0f round trips/s between them): p50 %v p99 %v",
		r.Count, r.Busy, r.BackgroundPerSec, r.P50, r.P99)
}

// loadMinRTs is how many round trips RRUnderLoad measures past
// Sizes.LoadWindow if it has fewer, for at most 3 windows.
const loadMinRTs = 100

// RRUnderLoad opens sz.LoadConns background connections, each running
// sz.RRSize-byte request/response round trips back to back, and then
// times round trips on one more connection: unmeasured ones for
// sz.LoadWarm (at most sz.LoadRRWarm), then sz.LoadRRCount measured, or
// as many as fit in sz.LoadWindow (at least loadMinRTs if they fit in
// three windows).
func RRUnderLoad(p Pair, sz Sizes) (RRLoadResult, error) {
	restore, err := needFiles(p, 2*sz.LoadConns+1024)
	if err != nil {
		return RRLoadResult{}, err
	}
	defer restore()
	ln, err := p.Listen(portLoad)
	if err != nil {
		return RRLoadResult{}, err
	}
	defer ln.Close()
	g := newGuard(sz.Timeout)
	defer g.stop()
	g.add(ln)
	ctx, cancel := context.WithTimeout(context.Background(), sz.Timeout)
	defer cancel()
	accepted := acceptAll(ln)

	var (
		stop  atomic.Bool
		wg    sync.WaitGroup
		rts   atomic.Int64
		start = make(chan struct{})
		werr  firstError
		conns []net.Conn
	)
	fail := werr.set
	defer func() {
		stop.Store(true)
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	echo := func(s net.Conn) {
		defer wg.Done()
		buf := make([]byte, sz.RRSize)
		for {
			if _, err := io.ReadFull(s, buf); err != nil {
				if err != io.EOF {
					fail(fmt.Errorf("echo read: %w", g.err(err)))
				}
				return
			}
			if _, err := s.Write(buf); err != nil {
				fail(fmt.Errorf("echo write: %w", g.err(err)))
				return
			}
		}
	}
	open := func() (net.Conn, error) {
		c, err := p.Dial(ctx, portLoad)
		if err != nil {
			return nil, fmt.Errorf("dial: %w", g.err(err))
		}
		conns = append(conns, c)
		g.add(c)
		var a acceptResult
		select {
		case a = <-accepted:
		case <-ctx.Done():
			return nil, errTimeout
		}
		if a.err != nil {
			return nil, fmt.Errorf("accept: %w", a.err)
		}
		conns = append(conns, a.c)
		g.add(a.c)
		wg.Add(1)
		go echo(a.c)
		return c, nil
	}
	for range sz.LoadConns {
		c, err := open()
		if err != nil {
			return RRLoadResult{}, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := make([]byte, sz.RRSize)
			<-start
			for !stop.Load() {
				if _, err := c.Write(msg); err != nil {
					fail(fmt.Errorf("background write: %w", g.err(err)))
					return
				}
				if _, err := io.ReadFull(c, msg); err != nil {
					fail(fmt.Errorf("background read: %w", g.err(err)))
					return
				}
				rts.Add(1)
			}
		}()
	}
	c, err := open()
	if err != nil {
		return RRLoadResult{}, err
	}
	close(start)
	msg := make([]byte, sz.RRSize)
	reply := make([]byte, sz.RRSize)
	lat := make([]time.Duration, 0, sz.LoadRRCount)
	roundTrip := func(i int) (time.Duration, error) {
		msg[0] = byte(i)
		ts := time.Now()
		if _, err := c.Write(msg); err != nil {
			return 0, fmt.Errorf("round trip %d: write: %w", i, g.err(err))
		}
		if _, err := io.ReadFull(c, reply); err != nil {
			return 0, fmt.Errorf("round trip %d: read: %w", i, g.err(err))
		}
		if reply[0] != msg[0] {
			return 0, fmt.Errorf("round trip %d: wrong echo", i)
		}
		return time.Since(ts), nil
	}
	// Warm-up and measurement are bounded in time as well as in count: under
	// this load a round trip can take a retransmission timeout.
	warmEnd := time.Now().Add(sz.LoadWarm)
	for i := 0; i < sz.LoadRRWarm && (i == 0 || time.Now().Before(warmEnd)); i++ {
		if _, err := roundTrip(i); err != nil {
			return RRLoadResult{}, err
		}
	}
	bg0, t0 := rts.Load(), time.Now()
	deadline := t0.Add(sz.LoadWindow)
	for i := 0; i < sz.LoadRRCount && (i < loadMinRTs || time.Now().Before(deadline)); i++ {
		d, err := roundTrip(i)
		if err != nil {
			return RRLoadResult{}, err
		}
		lat = append(lat, d)
		if time.Since(t0) > 3*sz.LoadWindow {
			break // fewer than loadMinRTs: the count says so
		}
	}
	bg := float64(rts.Load()-bg0) / time.Since(t0).Seconds()
	markEnd(p)
	stop.Store(true)
	if err := werr.end(); err != nil {
		return RRLoadResult{}, err
	}
	slices.Sort(lat)
	return RRLoadResult{P50: percentile(lat, 50), P99: percentile(lat, 99), Count: len(lat),
		Busy: sz.LoadConns, BackgroundPerSec: bg}, nil
}

// runSweep measures every flow count of Sizes.SweepFlows on every variant
// (a fresh pair per count and run), then derives sweep.scaling: each run's
// aggregate at the largest count over the single-flow aggregate of the
// same round.
func (rn *runner) runSweep(vs []Variant) {
	sz := rn.o.Sizes
	var first, last *Metric
	for _, n := range sz.SweepFlows {
		tput := &Metric{Bench: fmt.Sprintf("sweep.%d.throughput", n), Unit: "Gbit/s", Better: Higher}
		fair := &Metric{Bench: fmt.Sprintf("sweep.%d.fairness", n), Unit: "Jain index", Better: Higher}
		rn.measure(fmt.Sprintf("sweep %d flows", n), []*Metric{tput, fair}, vs,
			func(v Variant) ([]float64, RunStats, string, error) {
				var r SweepResult
				st, err := withPair(v, func(p Pair) (err error) { r, err = Sweep(p, n, sz); return })
				return []float64{r.Gbps, r.Jain}, st, r.String(), err
			})
		if n == 1 {
			first = tput
		}
		last = tput
	}
	if first == nil || last == first {
		return
	}
	sc := &Metric{Bench: "sweep.scaling", Unit: "x of 1 flow", Better: Higher,
		Targets: []Target{{AtLeast: true, Value: 0.8}},
		Note:    fmt.Sprintf("aggregate at %s / 1 flow, same round", last.Bench)}
	for _, r1 := range first.Rows {
		rN := last.row(r1.Stack, r1.Config)
		row := sc.row(r1.Stack, r1.Config)
		row.Note = r1.Note
		if row.Note == "" {
			row.Note = rN.Note
		}
		for i := range min(len(r1.Runs), len(rN.Runs)) {
			if r1.Runs[i].Value > 0 {
				sc.Add(r1.Stack, r1.Config, Sample{Value: rN.Runs[i].Value / r1.Runs[i].Value,
					Drops: rN.Runs[i].Drops, Retransmits: rN.Runs[i].Retransmits})
			}
		}
	}
	rn.ms = append(rn.ms, sc)
}
