package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Workloads are the names -only accepts, in run order.
var Workloads = []string{"bulk", "rr", "bulk6", "rr6", "conn", "idle", "sweep", "rrload", "idlemany", "tap", "image", "guest"}

// Options selects what Run does.
type Options struct {
	Sizes   Sizes
	Only    []string  // workload names (see Workloads; "allocs" means bulk); empty: all
	Stacks  []string  // stack names (StackNames); empty: all
	Configs []string  // configuration names (e.g. "ring/fixed"); empty: all
	Log     io.Writer // progress lines; nil: none
}

func (o Options) wants(name string) bool {
	if len(o.Only) == 0 {
		return true
	}
	for _, n := range o.Only {
		if n == name || n == "allocs" && name == "bulk" {
			return true
		}
	}
	return false
}

// selected filters vs by o.Stacks and o.Configs.
func (o Options) selected(vs []Variant) []Variant {
	var out []Variant
	for _, v := range vs {
		if len(o.Stacks) > 0 && !slices.Contains(o.Stacks, v.Stack) {
			continue
		}
		if len(o.Configs) > 0 && !slices.Contains(o.Configs, v.Config) {
			continue
		}
		out = append(out, v)
	}
	return out
}

// stackSelected reports whether stack is among o.Stacks.
func (o Options) stackSelected(stack string) bool {
	return len(o.Stacks) == 0 || slices.Contains(o.Stacks, stack)
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// CheckOnly reports an unknown workload name.
func CheckOnly(names []string) error {
	for _, n := range names {
		if n != "allocs" && !slices.Contains(Workloads, n) {
			return fmt.Errorf("unknown workload %q (have %s, allocs)", n, strings.Join(Workloads, ", "))
		}
	}
	return nil
}

// ConfigNames are every configuration name a variant has (for -configs).
func ConfigNames() []string {
	var out []string
	for _, vs := range [][]Variant{Variants, TAPVariants} {
		for _, v := range vs {
			if !slices.Contains(out, v.Config) {
				out = append(out, v.Config)
			}
		}
	}
	return out
}

// runner accumulates metrics and failures.
type runner struct {
	o    Options
	ms   []*Metric
	errs []string
}

// measure runs one workload on every variant in vs, Sizes.Reps times,
// alternating the variants (v1, v2, ..., v1, v2, ...) so that a slow
// phase of a shared machine spreads over all of them. f measures one
// variant once and returns its figures in the order of defs (NaN: not
// measured), the pair's counters, and a progress line. A variant that
// cannot run here gets rows with the reason and no runs.
func (rn *runner) measure(name string, defs []*Metric, vs []Variant, f func(v Variant) ([]float64, RunStats, string, error)) {
	reps := max(rn.o.Sizes.Reps, 1)
	var runnable []Variant
	for _, v := range vs {
		for _, m := range defs {
			m.row(v.Stack, v.Config)
		}
		if why := v.unavailable(); why != "" {
			rn.o.logf("%s %s: skipped: %s", name, v.Name(), why)
			for _, m := range defs {
				m.row(v.Stack, v.Config).Note = "skipped: " + why
			}
			continue
		}
		runnable = append(runnable, v)
	}
	for rep := range reps {
		for _, v := range runnable {
			vals, st, desc, err := f(v)
			if err != nil {
				rn.o.logf("%s %s: %v", name, v.Name(), err)
				rn.errs = append(rn.errs, fmt.Sprintf("%s %s: %v", name, v.Name(), err))
				for _, m := range defs {
					m.row(v.Stack, v.Config).Note = "failed: " + err.Error()
				}
				continue
			}
			rn.o.logf("%s %s (run %d/%d): %s; %d frames dropped by the link, %d retransmissions",
				name, v.Name(), rep+1, reps, desc, st.Drops, st.Retransmits)
			if st.Note != "" {
				rn.o.logf("%s %s: %s", name, v.Name(), st.Note)
			}
			for i, m := range defs {
				if st.Note != "" {
					m.row(v.Stack, v.Config).Note = st.Note
				}
				if i < len(vals) && !math.IsNaN(vals[i]) {
					m.Add(v.Stack, v.Config, Sample{Value: vals[i], Drops: st.Drops, Retransmits: st.Retransmits})
				}
			}
		}
	}
	rn.ms = append(rn.ms, defs...)
}

// Run runs the selected workloads on every selected variant and returns
// the metrics. Each workload runs Sizes.Reps times per variant; each
// stack's figure is the median of its best configuration. A workload that
// fails on one variant is reported in the returned error, and the others
// still run.
func Run(o Options) ([]*Metric, error) {
	rn := &runner{o: o}
	sz := o.Sizes
	vs := o.selected(Variants)
	if o.wants("bulk") {
		rn.measure("bulk", []*Metric{
			{Bench: "bulk.throughput", Unit: "Gbit/s", Better: Higher,
				Targets: []Target{{Vs: GVisor, AtLeast: true, Value: 3}, {Vs: Linux, AtLeast: true, Value: 1}}},
			{Bench: "bulk.cpu", Unit: "CPU s/GiB", Better: Lower},
			{Bench: "bulk.allocs", Unit: "allocs/MiB", Better: Lower, Targets: []Target{{Value: 1}}},
			{Bench: "bulk.alloc_bytes", Unit: "B/MiB", Better: Lower},
		}, vs, func(v Variant) ([]float64, RunStats, string, error) {
			var r BulkResult
			st, err := withPair(v, func(p Pair) (err error) { r, err = Bulk(p, sz); return })
			return []float64{r.Gbps(), r.CPUPerGiB(), r.AllocsPerMiB(), r.AllocBytesPerMiB()}, st,
				fmt.Sprintf("%d MiB in %v: %.2f Gbit/s, %.2f CPU s/GiB, %.2f allocs/MiB, %.0f B/MiB",
					r.Bytes>>20, r.Elapsed.Round(timeRound), r.Gbps(), r.CPUPerGiB(), r.AllocsPerMiB(), r.AllocBytesPerMiB()), err
		})
	}
	if o.wants("rr") {
		rn.measure("rr", []*Metric{
			{Bench: "rr.p50", Unit: "µs", Better: Lower,
				Targets: []Target{{Vs: GVisor, Value: 0.5}, {Vs: Linux, Value: 0.5}}},
			{Bench: "rr.p99", Unit: "µs", Better: Lower,
				Targets: []Target{{Vs: GVisor, Value: 0.5}, {Vs: Linux, Value: 0.5}}},
		}, vs, func(v Variant) ([]float64, RunStats, string, error) {
			var r RRResult
			st, err := withPair(v, func(p Pair) (err error) { r, err = RequestResponse(p, sz); return })
			return []float64{us(r.P50), us(r.P99)}, st,
				fmt.Sprintf("%d round trips of %d bytes: p50 %v p99 %v", r.Count, sz.RRSize, r.P50, r.P99), err
		})
	}
	// bulk6 and rr6 are bulk and rr over IPv6 (PairOptions.IPv6), right
	// after their IPv4 runs, against gVisor's IPv6 (the kernel's
	// namespaces are IPv4 only here).
	v6 := PairOptions{IPv6: true}
	vs6 := slices.DeleteFunc(slices.Clone(vs), func(v Variant) bool { return v.Stack == Linux })
	if o.wants("bulk6") {
		rn.measure("bulk6", []*Metric{
			{Bench: "bulk6.throughput", Unit: "Gbit/s", Better: Higher, Targets: []Target{{Vs: GVisor, AtLeast: true, Value: 3}}},
			{Bench: "bulk6.cpu", Unit: "CPU s/GiB", Better: Lower},
			{Bench: "bulk6.allocs", Unit: "allocs/MiB", Better: Lower, Targets: []Target{{Value: 1}}},
		}, vs6, func(v Variant) ([]float64, RunStats, string, error) {
			var r BulkResult
			st, err := withPairOpts(v, v6, func(p Pair) (err error) { r, err = Bulk(p, sz); return })
			return []float64{r.Gbps(), r.CPUPerGiB(), r.AllocsPerMiB()}, st,
				fmt.Sprintf("over IPv6: %d MiB in %v: %.2f Gbit/s, %.2f CPU s/GiB, %.2f allocs/MiB",
					r.Bytes>>20, r.Elapsed.Round(timeRound), r.Gbps(), r.CPUPerGiB(), r.AllocsPerMiB()), err
		})
	}
	if o.wants("rr6") {
		rn.measure("rr6", []*Metric{
			{Bench: "rr6.p50", Unit: "µs", Better: Lower, Targets: []Target{{Vs: GVisor, Value: 0.5}}},
			{Bench: "rr6.p99", Unit: "µs", Better: Lower, Targets: []Target{{Vs: GVisor, Value: 0.5}}},
		}, vs6, func(v Variant) ([]float64, RunStats, string, error) {
			var r RRResult
			st, err := withPairOpts(v, v6, func(p Pair) (err error) { r, err = RequestResponse(p, sz); return })
			return []float64{us(r.P50), us(r.P99)}, st,
				fmt.Sprintf("over IPv6: %d round trips of %d bytes: p50 %v p99 %v", r.Count, sz.RRSize, r.P50, r.P99), err
		})
	}
	if o.wants("conn") {
		rn.measure("conn", []*Metric{
			{Bench: "conn.rate", Unit: "conn/s", Better: Higher,
				Targets: []Target{{Vs: GVisor, AtLeast: true, Value: 2}, {Vs: Linux, AtLeast: true, Value: 2}}},
		}, vs, func(v Variant) ([]float64, RunStats, string, error) {
			var r ConnResult
			st, err := withPair(v, func(p Pair) (err error) { r, err = ConnRate(p, sz); return })
			return []float64{r.PerSecond()}, st,
				fmt.Sprintf("%d connections in %v: %.0f/s", r.Conns, r.Elapsed.Round(timeRound), r.PerSecond()), err
		})
	}
	if o.wants("idle") {
		rn.measure("idle", []*Metric{
			{Bench: "idle.heap_per_conn", Unit: "B (both ends)", Better: Lower,
				Targets: []Target{{Vs: GVisor, Value: 0.25}}, Note: idleNote},
		}, vs, func(v Variant) ([]float64, RunStats, string, error) {
			var r IdleResult
			st, err := withPair(v, func(p Pair) (err error) { r, err = Idle(p, sz.Idle, sz); return })
			return []float64{r.BytesPerConn}, st, r.String(), err
		})
	}
	if o.wants("sweep") {
		rn.runSweep(vs)
	}
	if o.wants("rrload") {
		rn.measure("rrload", []*Metric{
			{Bench: "rrload.p50", Unit: "µs", Better: Lower},
			{Bench: "rrload.p99", Unit: "µs", Better: Lower},
			{Bench: "rrload.background", Unit: "round trips/s", Better: Higher},
		}, vs, func(v Variant) ([]float64, RunStats, string, error) {
			var r RRLoadResult
			st, err := withPair(v, func(p Pair) (err error) { r, err = RRUnderLoad(p, sz); return })
			return []float64{us(r.P50), us(r.P99), r.BackgroundPerSec}, st, r.String(), err
		})
	}
	if o.wants("idlemany") {
		rn.measure("idlemany", []*Metric{
			{Bench: "idlemany.mem_per_conn", Unit: "B (both ends)", Better: Lower, Note: idleNote},
		}, memoryVariants(vs), func(v Variant) ([]float64, RunStats, string, error) {
			var r IdleResult
			st, err := withPair(v, func(p Pair) (err error) { r, err = Idle(p, sz.IdleMany, sz); return })
			return []float64{r.BytesPerConn}, st, r.String(), err
		})
	}
	if o.wants("tap") {
		rn.runTAP()
	}
	if o.wants("image") {
		ms, err := runImage(o)
		rn.ms = append(rn.ms, ms...)
		if err != nil {
			o.logf("image: %v", err)
			rn.errs = append(rn.errs, fmt.Sprintf("image: %v", err))
		}
	}
	if o.wants("guest") {
		ms, err := runGuests(o)
		rn.ms = append(rn.ms, ms...)
		if err != nil {
			o.logf("guest: %v", err)
			rn.errs = append(rn.errs, fmt.Sprintf("guest: %v", err))
		}
	}
	if len(rn.errs) > 0 {
		return rn.ms, fmt.Errorf("%d run(s) failed: %s", len(rn.errs), strings.Join(rn.errs, "; "))
	}
	return rn.ms, nil
}

// memoryVariants are the variants idlemany runs: one per stack and TCP
// configuration. The link (memlink with or without offloads; gVisor's
// ring, channel or veth) holds no per-connection state, so it does not
// change an idle connection's memory (the idle workload, which runs every
// variant, shows it), and opening 100,000 gVisor connections takes tens
// of seconds per run.
func memoryVariants(vs []Variant) []Variant {
	var out []Variant
	for _, v := range vs {
		if v.Config == "memlink+offload" || strings.HasPrefix(v.Config, "channel/") || strings.HasPrefix(v.Config, "veth/") {
			continue
		}
		out = append(out, v)
	}
	return out
}

const idleNote = "mirago, gvisor: live Go heap; linux: Go heap + the kernel slab caches of its sockets (machine-wide)"

// runTAP is the TAP workload on every selected TAP variant.
func (rn *runner) runTAP() {
	defs := []*Metric{
		{Bench: "tap.recv", Unit: "Gbit/s", Better: Higher, Targets: []Target{{Vs: GVisor, AtLeast: true, Value: 1.5}}},
		{Bench: "tap.send", Unit: "Gbit/s", Better: Higher, Targets: []Target{{Vs: GVisor, AtLeast: true, Value: 3}}},
	}
	rn.measure("tap", defs, rn.o.selected(TAPVariants), func(v Variant) ([]float64, RunStats, string, error) {
		r, err := TAP(v, rn.o.Sizes)
		return []float64{r.RecvGbps, r.SendGbps}, r.Stats,
			fmt.Sprintf("kernel->stack %.2f Gbit/s, stack->kernel %.2f Gbit/s", r.RecvGbps, r.SendGbps), err
	})
}

func us(d interface{ Nanoseconds() int64 }) float64 { return float64(d.Nanoseconds()) / 1e3 }

const timeRound = 1e6 // 1ms, as a time.Duration
