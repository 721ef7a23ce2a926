package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// TargetKind says how a metric is judged.
type TargetKind int

const (
	// NoTarget: reported for information.
	NoTarget TargetKind = iota
	// RatioAtLeast: mirago/gvisor must be >= Target.
	RatioAtLeast
	// RatioAtMost: mirago/gvisor must be <= Target.
	RatioAtMost
	// AbsAtMost: mirago's own value must be <= Target.
	AbsAtMost
)

// Metric is one measured quantity for every stack.
type Metric struct {
	Bench  string             // e.g. "bulk.throughput"
	Unit   string             // e.g. "Gbit/s"
	Values map[string]float64 // by stack name; a missing stack was not measured
	Kind   TargetKind
	Target float64
	Note   string // why it was not measured, or how it was measured
	Anchor string // what mirago is compared with: "gvisor" when empty, "linux" for the guest rows
}

// anchor is the name of the figure mirago's is compared with.
func (m Metric) anchor() string {
	if m.Anchor == "" {
		return "gvisor"
	}
	return m.Anchor
}

// Ratio is mirago's value over its anchor's (gVisor's, or the Linux
// guest's), or NaN.
func (m Metric) Ratio() float64 {
	a, ok1 := m.Values["mirago"]
	b, ok2 := m.Values[m.anchor()]
	if !ok1 || !ok2 || b == 0 {
		return math.NaN()
	}
	return a / b
}

// Met reports whether the target is met; ok is false when there is no
// target or not enough data.
func (m Metric) Met() (met, ok bool) {
	switch m.Kind {
	case RatioAtLeast, RatioAtMost:
		r := m.Ratio()
		if math.IsNaN(r) {
			return false, false
		}
		if m.Kind == RatioAtLeast {
			return r >= m.Target, true
		}
		return r <= m.Target, true
	case AbsAtMost:
		v, ok := m.Values["mirago"]
		if !ok {
			return false, false
		}
		return v <= m.Target, true
	}
	return false, false
}

func (m Metric) targetString() string {
	switch m.Kind {
	case RatioAtLeast:
		return fmt.Sprintf("ratio >= %g", m.Target)
	case RatioAtMost:
		return fmt.Sprintf("ratio <= %g", m.Target)
	case AbsAtMost:
		return fmt.Sprintf("mirago <= %g", m.Target)
	}
	return "-"
}

func fmtValue(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// WriteTable prints the metrics as a readable table.
func WriteTable(w io.Writer, ms []Metric) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "bench\tunit\tmirago\tgvisor (or anchor)\tratio (mirago/anchor)\ttarget\tmet")
	for _, m := range ms {
		if len(m.Values) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t%s\t%s\n", m.Bench, m.Unit, m.targetString(), m.Note)
			continue
		}
		cell := func(stack string) string {
			if v, ok := m.Values[stack]; ok {
				return fmtValue(v)
			}
			return "-"
		}
		ratio := "-"
		if r := m.Ratio(); !math.IsNaN(r) {
			ratio = fmt.Sprintf("%.2fx", r)
		}
		met := "-"
		if ok, known := m.Met(); known {
			met = map[bool]string{true: "yes", false: "NO"}[ok]
		}
		if m.Note != "" {
			met += " (" + m.Note + ")"
		}
		other := cell(m.anchor())
		if m.anchor() != "gvisor" {
			other += " (" + m.anchor() + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Bench, m.Unit, cell("mirago"), other, ratio, m.targetString(), met)
	}
	return tw.Flush()
}

// Line is one machine-readable result.
type Line struct {
	Bench string   `json:"bench"`
	Stack string   `json:"stack"` // "mirago", "gvisor", "linux" (guest rows) or "ratio" (mirago/anchor)
	Value *float64 `json:"value"` // null: not measured
	Unit  string   `json:"unit"`
	Note  string   `json:"note,omitempty"`
}

// Lines flattens metrics into JSON lines: one per stack, plus the ratio.
func Lines(ms []Metric) []Line {
	var out []Line
	for _, m := range ms {
		if len(m.Values) == 0 {
			out = append(out, Line{Bench: m.Bench, Stack: "mirago", Unit: m.Unit, Note: m.Note})
			continue
		}
		for _, st := range []string{"mirago", m.anchor()} {
			if v, ok := m.Values[st]; ok {
				out = append(out, Line{Bench: m.Bench, Stack: st, Value: &v, Unit: m.Unit})
			}
		}
		if r := m.Ratio(); !math.IsNaN(r) {
			out = append(out, Line{Bench: m.Bench, Stack: "ratio", Value: &r, Unit: "x"})
		}
	}
	return out
}

// WriteJSON writes one JSON object per line.
func WriteJSON(w io.Writer, ms []Metric) error {
	enc := json.NewEncoder(w)
	for _, l := range Lines(ms) {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return nil
}

// Workloads are the names -only accepts, in run order.
var Workloads = []string{"bulk", "rr", "conn", "idle", "tap", "image", "guest"}

// Options selects what Run does.
type Options struct {
	Sizes  Sizes
	Only   []string  // workload names (see Workloads; "allocs" means bulk); empty: all
	Stacks []string  // stack names; empty: all
	Log    io.Writer // progress lines; nil: none
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

func (o Options) stacks() []Stack {
	if len(o.Stacks) == 0 {
		return Stacks
	}
	var out []Stack
	for _, s := range Stacks {
		for _, n := range o.Stacks {
			if s.Name == n {
				out = append(out, s)
			}
		}
	}
	return out
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// CheckOnly reports an unknown workload name.
func CheckOnly(names []string) error {
	for _, n := range names {
		ok := n == "allocs"
		for _, w := range Workloads {
			ok = ok || n == w
		}
		if !ok {
			return fmt.Errorf("unknown workload %q (have %s, allocs)", n, strings.Join(Workloads, ", "))
		}
	}
	return nil
}

// Run runs the selected workloads on every selected stack and returns the
// metrics. Each workload runs Sizes.Reps times, alternating the stacks
// (mirago, gvisor, mirago, ...), and each metric is the median of its
// repetitions, which damps the noise of a shared machine. A workload that
// fails on one stack is reported in the returned error, and the others
// still run.
func Run(o Options) ([]Metric, error) {
	var ms []Metric
	var errs []string
	sz := o.Sizes
	reps := max(sz.Reps, 1)
	// measure runs one workload: f measures one stack once and returns its
	// figures, in the order of defs.
	measure := func(name string, defs []Metric, f func(st Stack) ([]float64, string, error)) {
		vals := make([]map[string][]float64, len(defs))
		for i := range vals {
			vals[i] = map[string][]float64{}
		}
		for rep := 0; rep < reps; rep++ {
			for _, st := range o.stacks() {
				v, desc, err := f(st)
				if err != nil {
					o.logf("%s %s: %v", name, st.Name, err)
					errs = append(errs, fmt.Sprintf("%s %s: %v", name, st.Name, err))
					continue
				}
				o.logf("%s %s (run %d/%d): %s", name, st.Name, rep+1, reps, desc)
				for i := range defs {
					vals[i][st.Name] = append(vals[i][st.Name], v[i])
				}
			}
		}
		for i, m := range defs {
			m.Values = map[string]float64{}
			for st, v := range vals[i] {
				m.Values[st] = median(v)
			}
			ms = append(ms, m)
		}
	}
	if o.wants("bulk") {
		measure("bulk", []Metric{
			{Bench: "bulk.throughput", Unit: "Gbit/s", Kind: RatioAtLeast, Target: 3},
			{Bench: "bulk.cpu", Unit: "CPU s/GiB"},
			{Bench: "bulk.allocs", Unit: "allocs/MiB", Kind: AbsAtMost, Target: 1},
			{Bench: "bulk.alloc_bytes", Unit: "B/MiB"},
		}, func(st Stack) ([]float64, string, error) {
			var r BulkResult
			var dropped uint64
			err := withPair(st, func(p Pair) (err error) { r, err = Bulk(p, sz); dropped = drops(p); return })
			return []float64{r.Gbps(), r.CPUPerGiB(), r.AllocsPerMiB(), r.AllocBytesPerMiB()},
				fmt.Sprintf("%d MiB in %v: %.2f Gbit/s, %.2f CPU s/GiB, %.2f allocs/MiB, %.0f B/MiB, %d frames dropped by the link",
					r.Bytes>>20, r.Elapsed.Round(timeRound), r.Gbps(), r.CPUPerGiB(), r.AllocsPerMiB(), r.AllocBytesPerMiB(), dropped), err
		})
	}
	if o.wants("rr") {
		measure("rr", []Metric{
			{Bench: "rr.p50", Unit: "µs", Kind: RatioAtMost, Target: 0.5},
			{Bench: "rr.p99", Unit: "µs", Kind: RatioAtMost, Target: 0.5},
		}, func(st Stack) ([]float64, string, error) {
			var r RRResult
			err := withPair(st, func(p Pair) (err error) { r, err = RequestResponse(p, sz); return })
			return []float64{float64(r.P50) / 1e3, float64(r.P99) / 1e3},
				fmt.Sprintf("%d round trips of %d bytes: p50 %v p99 %v", r.Count, sz.RRSize, r.P50, r.P99), err
		})
	}
	if o.wants("conn") {
		measure("conn", []Metric{
			{Bench: "conn.rate", Unit: "conn/s", Kind: RatioAtLeast, Target: 2},
		}, func(st Stack) ([]float64, string, error) {
			var r ConnResult
			err := withPair(st, func(p Pair) (err error) { r, err = ConnRate(p, sz); return })
			return []float64{r.PerSecond()},
				fmt.Sprintf("%d connections in %v: %.0f/s", r.Conns, r.Elapsed.Round(timeRound), r.PerSecond()), err
		})
	}
	if o.wants("idle") {
		measure("idle", []Metric{
			{Bench: "idle.heap_per_conn", Unit: "B (both ends)", Kind: RatioAtMost, Target: 0.25},
		}, func(st Stack) ([]float64, string, error) {
			var r IdleResult
			err := withPair(st, func(p Pair) (err error) { r, err = Idle(p, sz); return })
			return []float64{r.BytesPerConn},
				fmt.Sprintf("%d connections: %.0f heap bytes each (both ends)", r.Conns, r.BytesPerConn), err
		})
	}
	if o.wants("tap") {
		defs := []Metric{
			{Bench: "tap.recv", Unit: "Gbit/s", Kind: RatioAtLeast, Target: 1.5},
			{Bench: "tap.send", Unit: "Gbit/s", Kind: RatioAtLeast, Target: 3},
		}
		if why := TAPUnavailable(); why != "" {
			o.logf("tap: skipped: %s", why)
			for _, m := range defs {
				m.Note = "skipped: " + why
				ms = append(ms, m)
			}
		} else {
			measure("tap", defs, func(st Stack) ([]float64, string, error) {
				r, err := TAP(st.Name, sz)
				return []float64{r.RecvGbps, r.SendGbps},
					fmt.Sprintf("kernel->stack %.2f Gbit/s, stack->kernel %.2f Gbit/s", r.RecvGbps, r.SendGbps), err
			})
		}
	}
	if o.wants("image") {
		m, err := runImage(o)
		ms = append(ms, m...)
		if err != nil {
			o.logf("image: %v", err)
			errs = append(errs, fmt.Sprintf("image: %v", err))
		}
	}
	if o.wants("guest") {
		m, err := runGuests(o)
		ms = append(ms, m...)
		if err != nil {
			o.logf("guest: %v", err)
			errs = append(errs, fmt.Sprintf("guest: %v", err))
		}
	}
	if len(errs) > 0 {
		return ms, fmt.Errorf("%d run(s) failed: %s", len(errs), strings.Join(errs, "; "))
	}
	return ms, nil
}

// median returns the median of v (the mean of the middle two for an even
// count).
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

const timeRound = 1e6 // 1ms, as a time.Duration
