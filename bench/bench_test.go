package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/require"
)

// TestWorkloads runs every workload at a tiny size on both stacks, so that
// the harness itself is tested by `make test`.
func TestWorkloads(t *testing.T) {
	sz := Tiny()
	for _, st := range Stacks {
		t.Run(st.Name, func(t *testing.T) {
			run := func(name string, f func(Pair) error) {
				t.Helper()
				if err := withPair(st, f); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
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
			run("conn", func(p Pair) error {
				r, err := ConnRate(p, sz)
				if err == nil && (r.Conns != sz.Conns || r.PerSecond() <= 0) {
					t.Errorf("conn: implausible result %+v", r)
				}
				return err
			})
			run("idle", func(p Pair) error {
				r, err := Idle(p, sz)
				if err == nil && r.Conns != sz.Idle {
					t.Errorf("idle: implausible result %+v", r)
				}
				return err
			})
		})
	}
}

// TestTAP runs the TAP workload at a tiny size. It needs root,
// /dev/net/tun and ip (a skip naming what is missing, under CI=true a
// failure).
func TestTAP(t *testing.T) {
	require.TUN(t)
	require.Root(t)
	require.Commands(t, "iproute2", "ip")
	if why := TAPUnavailable(); why != "" {
		t.Fatalf("TAPUnavailable after the requirements passed: %s", why)
	}
	for _, st := range Stacks {
		r, err := TAP(st.Name, Tiny())
		if err != nil {
			t.Fatalf("%s: %v", st.Name, err)
		}
		if r.RecvGbps <= 0 || r.SendGbps <= 0 {
			t.Fatalf("%s: implausible %+v", st.Name, r)
		}
	}
}

// TestRunReport checks Run's bookkeeping and both output forms.
func TestRunReport(t *testing.T) {
	// The image workload is forced to skip here (TestImage runs it).
	defer forceImageSkip("no images in this test")()
	ms, err := Run(Options{Sizes: Tiny(), Only: []string{"rr", "image"}})
	if err != nil {
		t.Fatal(err)
	}
	var table, js bytes.Buffer
	if err := WriteTable(&table, ms); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rr.p50", "rr.p99", "ratio", "image.size", "skipped: no images in this test"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if err := WriteJSON(&js, ms); err != nil {
		t.Fatal(err)
	}
	stacks := map[string]bool{}
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
		stacks[l["stack"].(string)] = true
	}
	for _, s := range []string{"mirago", "gvisor", "ratio"} {
		if !stacks[s] {
			t.Errorf("no JSON line for %s", s)
		}
	}
	if err := CheckOnly([]string{"bulk", "allocs", "tap"}); err != nil {
		t.Error(err)
	}
	if CheckOnly([]string{"nope"}) == nil {
		t.Error("CheckOnly accepted an unknown workload")
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
	for _, st := range Stacks {
		err := withPair(st, func(p Pair) error {
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
				t.Errorf("%s: Read after the guard fired: %v", st.Name, err)
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

func BenchmarkBulk(b *testing.B) {
	for _, st := range Stacks {
		b.Run(st.Name, func(b *testing.B) {
			sz := Quick()
			sz.BulkBytes = int64(b.N) << 20
			b.SetBytes(1 << 20)
			var r BulkResult
			if err := withPair(st, func(p Pair) (err error) { r, err = Bulk(p, sz); return }); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r.AllocsPerMiB(), "allocs/MiB")
			b.ReportMetric(r.CPUPerGiB(), "CPUs/GiB")
		})
	}
}

func BenchmarkRR(b *testing.B) {
	for _, st := range Stacks {
		b.Run(st.Name, func(b *testing.B) {
			sz := Quick()
			sz.RRCount = b.N
			var r RRResult
			if err := withPair(st, func(p Pair) (err error) { r, err = RequestResponse(p, sz); return }); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(r.P50.Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(r.P99.Nanoseconds())/1e3, "p99-µs")
		})
	}
}

func BenchmarkConn(b *testing.B) {
	for _, st := range Stacks {
		b.Run(st.Name, func(b *testing.B) {
			sz := Quick()
			sz.Conns = b.N
			if err := withPair(st, func(p Pair) error { _, err := ConnRate(p, sz); return err }); err != nil {
				b.Fatal(err)
			}
		})
	}
}
