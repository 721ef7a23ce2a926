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

// Better says which way a metric improves.
type Better int

const (
	// Higher: more is better (throughput, rates, fairness).
	Higher Better = iota
	// Lower: less is better (latency, CPU, memory, allocations, size).
	Lower
)

// Target is one goal for mirago's figure of a metric.
type Target struct {
	// Vs is the stack mirago's figure is divided by (GVisor or Linux);
	// "" means an absolute bound on mirago's own figure.
	Vs      string
	AtLeast bool // the ratio (or value) must be >= Value; else <= Value
	Value   float64
}

func (t Target) String() string {
	op := "<="
	if t.AtLeast {
		op = ">="
	}
	if t.Vs == "" {
		return fmt.Sprintf("mirago %s %g", op, t.Value)
	}
	return fmt.Sprintf("%s %gx", op, t.Value)
}

// Sample is one measurement of one variant.
type Sample struct {
	Value       float64
	Drops       uint64 // frames the link dropped during the run (0 where not counted)
	Retransmits uint64 // TCP segments retransmitted during the run
}

// Row is every run of one variant on one metric.
type Row struct {
	Stack, Config string
	Runs          []Sample
	Note          string // why it was not measured, or how
}

// Median is the median of the runs (NaN without runs).
func (r *Row) Median() float64 {
	if len(r.Runs) == 0 {
		return math.NaN()
	}
	v := make([]float64, len(r.Runs))
	for i, x := range r.Runs {
		v[i] = x.Value
	}
	return median(v)
}

// Spread is the smallest and largest run.
func (r *Row) Spread() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range r.Runs {
		lo, hi = min(lo, x.Value), max(hi, x.Value)
	}
	return lo, hi
}

// Metric is one measured quantity for every variant.
type Metric struct {
	Bench   string // e.g. "bulk.throughput"
	Unit    string // e.g. "Gbit/s"
	Better  Better
	Targets []Target
	Rows    []*Row // one per variant, in run order
	Note    string // how it was measured, or why it was not
}

// row returns the row of stack/config, adding it if new.
func (m *Metric) row(stack, config string) *Row {
	for _, r := range m.Rows {
		if r.Stack == stack && r.Config == config {
			return r
		}
	}
	r := &Row{Stack: stack, Config: config}
	m.Rows = append(m.Rows, r)
	return r
}

// Add records one run of stack/config.
func (m *Metric) Add(stack, config string, run Sample) {
	r := m.row(stack, config)
	r.Runs = append(r.Runs, run)
}

// Best returns stack's row with the best median, or nil if no row of
// stack has a run. Each stack is reported at its best configuration.
func (m *Metric) Best(stack string) *Row {
	var best *Row
	for _, r := range m.Rows {
		if r.Stack != stack || len(r.Runs) == 0 {
			continue
		}
		if best == nil || m.better(r.Median(), best.Median()) {
			best = r
		}
	}
	return best
}

func (m *Metric) better(a, b float64) bool {
	if m.Better == Lower {
		return a < b
	}
	return a > b
}

// Value is the median of stack's best configuration.
func (m *Metric) Value(stack string) (float64, bool) {
	r := m.Best(stack)
	if r == nil {
		return 0, false
	}
	return r.Median(), true
}

// Ratio is mirago's best over vs's best, or NaN.
func (m *Metric) Ratio(vs string) float64 {
	a, ok1 := m.Value(Mirago)
	b, ok2 := m.Value(vs)
	if !ok1 || !ok2 || b == 0 {
		return math.NaN()
	}
	return a / b
}

// Met reports whether target t is met; ok is false without the figures.
func (m *Metric) Met(t Target) (met, ok bool) {
	var v float64
	if t.Vs == "" {
		v, ok = m.Value(Mirago)
	} else {
		v = m.Ratio(t.Vs)
		ok = !math.IsNaN(v)
	}
	if !ok {
		return false, false
	}
	if t.AtLeast {
		return v >= t.Value, true
	}
	return v <= t.Value, true
}

// target returns m's target against vs, if any ("" for the absolute one).
func (m *Metric) target(vs string) (Target, bool) {
	for _, t := range m.Targets {
		if t.Vs == vs {
			return t, true
		}
	}
	return Target{}, false
}

func fmtValue(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "-"
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

// cell is a stack's figure in the table: the median of its best
// configuration, the spread of that configuration's runs, and the
// configuration's name when the stack ran in more than one.
func (m *Metric) cell(stack string) string {
	r := m.Best(stack)
	if r == nil {
		return "-"
	}
	s := fmtValue(r.Median())
	if len(r.Runs) > 1 {
		lo, hi := r.Spread()
		s += " (" + fmtValue(lo) + ".." + fmtValue(hi) + ")"
	}
	n := 0
	for _, x := range m.Rows {
		if x.Stack == stack && len(x.Runs) > 0 {
			n++
		}
	}
	if n > 1 {
		s += " " + r.Config
	}
	return s
}

// targetCells are the ratio, target and met cells against vs ("" for the
// absolute target, whose ratio cell is empty).
func (m *Metric) targetCells(vs string) (ratio, target, met string) {
	ratio, target, met = "-", "-", "-"
	if vs != "" {
		if r := m.Ratio(vs); !math.IsNaN(r) {
			ratio = fmt.Sprintf("%.2fx", r)
		}
	}
	t, ok := m.target(vs)
	if !ok {
		return
	}
	target = t.String()
	if ok, known := m.Met(t); known {
		met = map[bool]string{true: "yes", false: "NO"}[ok]
	}
	return
}

// WriteTable prints the three-column table: each stack's best
// configuration (median of its runs, min..max), mirago's ratio to gVisor
// and to Linux, and a target and "met" column for each comparison
// (absolute targets are in the gVisor group).
func WriteTable(w io.Writer, ms []*Metric) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "bench\tunit\tmirago\tgvisor (best config)\tlinux\tmirago/gvisor\ttarget\tmet\tmirago/linux\ttarget\tmet\tnote")
	for _, m := range ms {
		gr, gt, gm := m.targetCells(GVisor)
		if gt == "-" {
			_, gt, gm = m.targetCells("")
		}
		lr, lt, lm := m.targetCells(Linux)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Bench, m.Unit,
			m.cell(Mirago), m.cell(GVisor), m.cell(Linux), gr, gt, gm, lr, lt, lm, m.notes())
	}
	return tw.Flush()
}

// notes joins the metric's note and the notes of rows without runs.
func (m *Metric) notes() string {
	var s []string
	if m.Note != "" {
		s = append(s, m.Note)
	}
	for _, r := range m.Rows {
		if r.Note != "" && (len(r.Runs) == 0 || m.Best(r.Stack) == r) {
			s = append(s, r.Stack+" "+r.Config+": "+r.Note)
		}
	}
	return strings.Join(s, "; ")
}

// WriteConfigs prints every configuration's figures: median, min..max,
// the runs, and the link drops and retransmissions of each run.
func WriteConfigs(w io.Writer, ms []*Metric) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "bench\tstack\tconfig\tmedian\tmin..max\tbest\tdrops/run\tretransmits/run")
	for _, m := range ms {
		for _, r := range m.Rows {
			if len(r.Runs) == 0 {
				continue
			}
			lo, hi := r.Spread()
			best := ""
			if m.Best(r.Stack) == r {
				best = "*"
			}
			var d, rt []string
			for _, x := range r.Runs {
				d = append(d, fmt.Sprint(x.Drops))
				rt = append(rt, fmt.Sprint(x.Retransmits))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s..%s\t%s\t%s\t%s\n", m.Bench, r.Stack, r.Config,
				fmtValue(r.Median()), fmtValue(lo), fmtValue(hi), best, strings.Join(d, ","), strings.Join(rt, ","))
		}
	}
	return tw.Flush()
}

// Line is one machine-readable result: a configuration's figures, or a
// ratio of mirago's best to another stack's best.
type Line struct {
	Bench  string   `json:"bench"`
	Stack  string   `json:"stack"`            // "mirago", "gvisor", "linux" or "ratio"
	Config string   `json:"config,omitempty"` // the configuration (stack rows)
	Vs     string   `json:"vs,omitempty"`     // ratio rows: "gvisor" or "linux" (mirago/vs)
	Value  *float64 `json:"value"`            // median of the runs; null: not measured
	Unit   string   `json:"unit"`
	Min    *float64 `json:"min,omitempty"`
	Max    *float64 `json:"max,omitempty"`
	// Runs are the figures of every run, in order; Drops and Retransmits
	// are the link's dropped frames and the TCP retransmissions of each.
	Runs        []float64 `json:"runs,omitempty"`
	Drops       []uint64  `json:"drops,omitempty"`
	Retransmits []uint64  `json:"retransmits,omitempty"`
	// Best marks the configuration reported for its stack.
	Best   bool   `json:"best,omitempty"`
	Target string `json:"target,omitempty"`
	Met    *bool  `json:"met,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Lines flattens metrics into JSON lines: one per configuration, then one
// per ratio (mirago/gvisor and mirago/linux) with its target and whether it
// is met. An absolute target is on mirago's best row.
func Lines(ms []*Metric) []Line {
	var out []Line
	for _, m := range ms {
		if len(m.Rows) == 0 {
			out = append(out, Line{Bench: m.Bench, Stack: Mirago, Unit: m.Unit, Note: m.Note})
			continue
		}
		for _, r := range m.Rows {
			l := Line{Bench: m.Bench, Stack: r.Stack, Config: r.Config, Unit: m.Unit, Note: r.Note}
			if len(r.Runs) > 0 {
				v := r.Median()
				lo, hi := r.Spread()
				l.Value, l.Min, l.Max = &v, &lo, &hi
				for _, x := range r.Runs {
					l.Runs = append(l.Runs, x.Value)
					l.Drops = append(l.Drops, x.Drops)
					l.Retransmits = append(l.Retransmits, x.Retransmits)
				}
				l.Best = m.Best(r.Stack) == r
				if t, ok := m.target(""); ok && l.Best && r.Stack == Mirago {
					l.Target = t.String()
					met, _ := m.Met(t)
					l.Met = &met
				}
			}
			if l.Note == "" && l.Value == nil {
				l.Note = m.Note
			}
			out = append(out, l)
		}
		for _, vs := range []string{GVisor, Linux} {
			r := m.Ratio(vs)
			if math.IsNaN(r) {
				continue
			}
			l := Line{Bench: m.Bench, Stack: "ratio", Vs: vs, Value: &r, Unit: "x"}
			if t, ok := m.target(vs); ok {
				l.Target = t.String()
				met, _ := m.Met(t)
				l.Met = &met
			}
			out = append(out, l)
		}
	}
	return out
}

// WriteJSON writes one JSON object per line.
func WriteJSON(w io.Writer, ms []*Metric) error {
	enc := json.NewEncoder(w)
	for _, l := range Lines(ms) {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return nil
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
