package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/bench/netns"
	"github.com/mirago/mirago/internal/testkit/require"
)

// requireVariant skips (or, in CI, fails) a test of a variant that cannot
// run here, naming what is missing.
func requireVariant(t *testing.T, v Variant) {
	t.Helper()
	if v.Stack == Linux {
		require.Root(t)
		require.Commands(t, "iproute2", "ip")
	}
	if why := v.unavailable(); why != "" {
		require.Missing(t, why)
	}
}

// TestWorkloads runs every in-memory workload at a tiny size on every
// variant (the kernel pair needs root), so that the harness itself is
// tested by `make test`.
func TestWorkloads(t *testing.T) {
	sz := Tiny()
	for _, v := range Variants {
		t.Run(strings.ReplaceAll(v.Name(), "/", "-"), func(t *testing.T) {
			requireVariant(t, v)
			run := func(name string, f func(Pair) error) RunStats {
				t.Helper()
				st, err := withPair(v, f)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return st
			}
			run("bulk", func(p Pair) error {
				r, err := Bulk(p, sz)
				if err == nil && (r.Bytes != sz.BulkBytes || r.Elapsed <= 0 || r.Gbps() <= 0) {
					t.Errorf("bulk: implausible result %+v", r)
				}
				return err
			})
			run("rr", func(p Pair) error {
				r, err := RequestResponse(p, sz)
				if err == nil && (r.Count != sz.RRCount || r.P50 <= 0 || r.P99 < r.P50) {
					t.Errorf("rr: implausible result %+v", r)
				}
				return err
			})
			// The IPv6 rows' pairs (mirago and gVisor): bulk and rr over
			// IPv6, and the connection is IPv6 indeed.
			if v.Stack != Linux {
				st, err := withPairOpts(v, PairOptions{IPv6: true}, func(p Pair) error {
					r, err := Bulk(p, sz)
					if err == nil && (r.Bytes != sz.BulkBytes || r.Gbps() <= 0) {
						t.Errorf("bulk6: implausible result %+v", r)
					}
					if err == nil {
						var rr RRResult
						rr, err = RequestResponse(p, sz)
						if err == nil && rr.Count != sz.RRCount {
							t.Errorf("rr6: implausible result %+v", rr)
						}
					}
					ln, lerr := p.Listen(9)
					if lerr != nil {
						return lerr
					}
					defer ln.Close()
					go func() {
						if c, err := ln.Accept(); err == nil {
							c.Close()
						}
					}()
					c, derr := p.Dial(context.Background(), 9)
					if derr != nil {
						return derr
					}
					defer c.Close()
					if ra := c.RemoteAddr().String(); !strings.HasPrefix(ra, "[fd00:b::") {
						t.Errorf("IPv6 pair connected to %s", ra)
					}
					return err
				})
				if err != nil {
					t.Fatalf("IPv6 pair: %v (%+v)", err, st)
				}
			}
			run("conn", func(p Pair) error {
				r, err := ConnRate(p, sz)
				if err == nil && (r.Conns != sz.Conns || r.PerSecond() <= 0) {
					t.Errorf("conn: implausible result %+v", r)
				}
				return err
			})
			for _, n := range []int{sz.Idle, sz.IdleMany} {
				run("idle", func(p Pair) error {
					r, err := Idle(p, n, sz)
					// The kernel's share is machine-wide, so only the heap's
					// is sure to grow.
					if err == nil && (r.Conns != n || r.HeapPerConn <= 0) {
						t.Errorf("idle: implausible result %+v", r)
					}
					return err
				})
			}
			for _, n := range sz.SweepFlows {
				run("sweep", func(p Pair) error {
					r, err := Sweep(p, n, sz)
					// Bytes must have moved, but not necessarily in the
					// window: under -race on a busy machine every flow can
					// sit out a short window in retransmission backoff.
					if err == nil && (r.Flows != n || r.Total <= 0 || r.Gbps < 0 || r.Jain < 0 || r.Jain > 1+1e-9) {
						t.Errorf("sweep: implausible result %+v", r)
					}
					return err
				})
			}
			run("rrload", func(p Pair) error {
				r, err := RRUnderLoad(p, sz)
				if err == nil && (r.Count < 1 || r.Busy != sz.LoadConns || r.P50 <= 0 || r.P99 < r.P50 || r.BackgroundPerSec <= 0) {
					t.Errorf("rrload: implausible result %+v", r)
				}
				return err
			})
		})
	}
}

// TestJain checks the fairness index against hand-computed values.
func TestJain(t *testing.T) {
	for _, c := range []struct {
		x    []float64
		want float64
	}{
		{[]float64{5, 5, 5, 5}, 1},
		{[]float64{1, 0, 0, 0}, 0.25},
		{[]float64{3, 1}, 0.8},
		{[]float64{0, 0}, 0},
	} {
		if got := jain(c.x); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("jain(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

// TestTAP runs the TAP workload at a tiny size on every TAP variant. It
// needs root, /dev/net/tun and ip (a skip naming what is missing, under
// CI=true a failure).
func TestTAP(t *testing.T) {
	require.TUN(t)
	require.Root(t)
	require.Commands(t, "iproute2", "ip")
	if why := TAPUnavailable(); why != "" {
		t.Fatalf("TAPUnavailable after the requirements passed: %s", why)
	}
	for _, v := range TAPVariants {
		r, err := TAP(v, Tiny())
		if err != nil {
			t.Fatalf("%s: %v", v.Name(), err)
		}
		if r.RecvGbps <= 0 || r.SendGbps <= 0 {
			t.Fatalf("%s: implausible %+v", v.Name(), r)
		}
	}
}

// TestRunReport checks Run's bookkeeping and both output forms.
func TestRunReport(t *testing.T) {
	// The image workload is forced to skip here (TestImage runs it).
	defer forceImageSkip("no images in this test")()
	stacks := []string{Mirago, GVisor}
	if netns.Unavailable() == "" {
		stacks = append(stacks, Linux)
	}
	sz := Tiny()
	sz.Reps = 2
	ms, err := Run(Options{Sizes: sz, Only: []string{"rr", "sweep", "image"}, Stacks: stacks})
	if err != nil {
		t.Fatal(err)
	}
	var table, js bytes.Buffer
	if err := WriteTable(&table, ms); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rr.p50", "rr.p99", "mirago/gvisor", "mirago/linux", "sweep.1.throughput",
		"sweep.8.fairness", "sweep.scaling", "image.size", "skipped: no images in this test"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var p50 *Metric
	for _, m := range ms {
		if m.Bench == "rr.p50" {
			p50 = m
		}
	}
	if p50 == nil {
		t.Fatal("no rr.p50")
	}
	// Every gVisor configuration ran twice; the best is the lowest median.
	best := p50.Best(GVisor)
	for _, r := range p50.Rows {
		if len(r.Runs) != 2 {
			t.Errorf("%s %s: %d runs, want 2", r.Stack, r.Config, len(r.Runs))
		}
		if r.Stack == GVisor && r.Median() < best.Median() {
			t.Errorf("best gVisor %s (%v) is not the lowest (%s: %v)", best.Config, best.Median(), r.Config, r.Median())
		}
	}
	if err := WriteJSON(&js, ms); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	configs := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(js.String()), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		for _, k := range []string{"bench", "stack", "value", "unit"} {
			if _, ok := l[k]; !ok {
				t.Errorf("line %q lacks %q", line, k)
			}
		}
		st := l["stack"].(string)
		if st == "ratio" {
			st += "/" + l["vs"].(string)
		} else if l["value"] != nil {
			configs[st+" "+l["config"].(string)] = true
			for _, k := range []string{"config", "min", "max", "runs", "drops", "retransmits"} {
				if _, ok := l[k]; !ok {
					t.Errorf("line %q lacks %q", line, k)
				}
			}
		}
		seen[st] = true
	}
	want := []string{"mirago", "gvisor", "ratio/gvisor"}
	if len(stacks) == 3 {
		want = append(want, "linux", "ratio/linux")
	}
	for _, s := range want {
		if !seen[s] {
			t.Errorf("no JSON line for %s", s)
		}
	}
	for _, v := range Variants {
		if (v.Stack != Linux || len(stacks) == 3) && !configs[v.Name()] {
			t.Errorf("no JSON line for configuration %s", v.Name())
		}
	}
	if err := CheckOnly([]string{"bulk", "allocs", "tap", "sweep", "rrload", "idlemany"}); err != nil {
		t.Error(err)
	}
	if CheckOnly([]string{"nope"}) == nil {
		t.Error("CheckOnly accepted an unknown workload")
	}
}

// TestBestAndTargets checks how a stack's figure and the targets are
// judged: each stack at its best configuration, in the metric's direction.
func TestBestAndTargets(t *testing.T) {
	m := &Metric{Bench: "x", Better: Lower, Targets: []Target{{Vs: GVisor, Value: 0.5}, {Vs: Linux, Value: 0.5}, {Value: 3}}}
	for _, r := range []struct {
		stack, config string
		v             []float64
	}{
		{Mirago, "a", []float64{2, 3, 4}},
		{GVisor, "slow", []float64{10, 11, 12}},
		{GVisor, "fast", []float64{7, 5, 6}},
		{Linux, "veth", []float64{4}},
	} {
		for _, v := range r.v {
			m.Add(r.stack, r.config, Sample{Value: v})
		}
	}
	if b := m.Best(GVisor); b.Config != "fast" || b.Median() != 6 {
		t.Errorf("best gVisor = %s %v, want fast 6", b.Config, b.Median())
	}
	if lo, hi := m.Best(GVisor).Spread(); lo != 5 || hi != 7 {
		t.Errorf("spread %v..%v", lo, hi)
	}
	if r := m.Ratio(GVisor); r != 0.5 {
		t.Errorf("ratio to gVisor %v, want 0.5", r)
	}
	for _, c := range []struct {
		t   Target
		met bool
	}{{m.Targets[0], true}, {m.Targets[1], false}, {m.Targets[2], true}} {
		if met, ok := m.Met(c.t); !ok || met != c.met {
			t.Errorf("target %v: met %v %v, want %v", c.t, met, ok, c.met)
		}
	}
	m.Better = Higher
	if b := m.Best(GVisor); b.Config != "slow" {
		t.Errorf("best gVisor (higher is better) = %s", b.Config)
	}
}

func TestMedianPercentile(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
}

// TestGuard checks that an overrunning workload is unblocked: the guard
// closes a connection whose Read waits for data that never comes.
func TestGuard(t *testing.T) {
	for _, v := range Variants {
		if v.Stack == Linux {
			continue // TestWorkloads covers the kernel's guard paths
		}
		_, err := withPair(v, func(p Pair) error {
			ln, err := p.Listen(6000)
			if err != nil {
				return err
			}
			defer ln.Close()
			accepted := acceptOne(ln)
			c, err := p.Dial(context.Background(), 6000)
			if err != nil {
				return err
			}
			defer c.Close()
			a := <-accepted
			if a.err != nil {
				return a.err
			}
			defer a.c.Close()
			g := newGuard(20 * time.Millisecond)
			defer g.stop()
			g.add(c)
			_, err = c.Read(make([]byte, 1))
			if err = g.err(err); !errors.Is(err, errTimeout) {
				t.Errorf("%s: Read after the guard fired: %v", v.Name(), err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The testing.B forms of the workloads: `go test -bench . ./bench` (the
// contract is cmd/benchall; these are for quick A/B work on one workload).

func benchVariants(b *testing.B, f func(b *testing.B, v Variant)) {
	for _, v := range Variants {
		b.Run(strings.ReplaceAll(v.Name(), "/", "-"), func(b *testing.B) {
			if why := v.unavailable(); why != "" {
				require.Missing(b, why)
			}
			f(b, v)
		})
	}
}

func BenchmarkBulk(b *testing.B) {
	benchVariants(b, func(b *testing.B, v Variant) {
		sz := Quick()
		sz.BulkBytes = int64(b.N) << 20
		b.SetBytes(1 << 20)
		var r BulkResult
		if _, err := withPair(v, func(p Pair) (err error) { r, err = Bulk(p, sz); return }); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.AllocsPerMiB(), "allocs/MiB")
		b.ReportMetric(r.CPUPerGiB(), "CPUs/GiB")
	})
}

func BenchmarkRR(b *testing.B) {
	benchVariants(b, func(b *testing.B, v Variant) {
		sz := Quick()
		sz.RRCount = b.N
		var r RRResult
		if _, err := withPair(v, func(p Pair) (err error) { r, err = RequestResponse(p, sz); return }); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(r.P50.Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(r.P99.Nanoseconds())/1e3, "p99-µs")
	})
}

func BenchmarkConn(b *testing.B) {
	benchVariants(b, func(b *testing.B, v Variant) {
		sz := Quick()
		sz.Conns = b.N
		if _, err := withPair(v, func(p Pair) error { _, err := ConnRate(p, sz); return err }); err != nil {
			b.Fatal(err)
		}
	})
}
