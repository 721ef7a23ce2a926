// Package metrics exports counters in the Prometheus text exposition
// format (version 0.0.4): every field of stack.Stats, found by reflection,
// plus any app-level counters, served over HTTP on our own stack.
//
// A field F of the stack's layer L becomes mirago_<l>_<f>, with the Go
// names in snake case (stack.Stats.IP.Received is mirago_ip_received). An
// array field becomes one metric with a label per element: TCP connections
// by state (state="ESTABLISHED"), TCP drops by reason, ICMP messages by
// type. Signed integers and the snapshot fields listed in gaugeFields are
// gauges; everything else is a counter.
//
// Every metric of a family-specific layer carries family="ipv4" (ip,
// icmp, arp) or family="ipv6" (ipv6, icmpv6, and Neighbor Discovery's and
// MLD's layers); the transports, which serve both, keep their counters
// per family (a struct embedding its counters beside an IPv6 field of the
// same type: tcp.Stats, udp.Stats), and each of those metrics has a
// sample per family (family="ipv4" being the total less IPv6's share).
//
// Apps add histograms (Type Histogram, samples with Suffix "_bucket",
// "_sum" and "_count"). Not done: summaries; metric names are not
// suffixed with _total, so that they read as the Go field names do.
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// Type is a metric type.
type Type string

// Metric types used here.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
)

// Label is one name="value" pair of a sample.
type Label struct {
	Name, Value string
}

// Sample is one value of a family, told apart from its siblings by its
// labels.
type Sample struct {
	// Suffix follows the family's name: "_bucket", "_sum" or "_count"
	// in a histogram, "" otherwise.
	Suffix string
	Labels []Label
	Value  float64
}

// Family is one metric: a name, help text, type and its samples.
type Family struct {
	Name    string
	Help    string
	Type    Type
	Samples []Sample
}

// Prefix starts every metric name.
const Prefix = "mirago"

// The package has no initialised variables (switches instead of maps):
// an image that imports it without serving metrics (metrics.Built false)
// then links none of it.

// stackGauge reports whether the stack.Stats field at path ("Layer.Field")
// holds a current value rather than a running count.
func stackGauge(path string) bool {
	switch path {
	case "IP.ReasmPending", "IP.ReasmMemory", "UDP.OpenSockets", "ARP.CacheSize",
		"ARP.Pending", "TCP.States", "TCP.Memory", "UDP.RecvMemory", "UDP.PoolMemory":
		return true
	}
	return false
}

// arrayLabel names the elements of the array field at path.
func arrayLabel(path string) func(i int) Label {
	switch path {
	case "TCP.States":
		return func(i int) Label { return Label{"state", tcp.State(i).String()} }
	case "TCP.Drops":
		return func(i int) Label { return Label{"reason", tcp.DropReason(i).String()} }
	case "ICMP.ErrorsIn", "ICMP.ErrorsOut":
		return func(i int) Label { return Label{"type", strconv.Itoa(i)} }
	}
	return func(i int) Label { return Label{"index", strconv.Itoa(i)} }
}

// Stack returns a family for every field of st.
func Stack(st stack.Stats) []Family {
	return Struct(Prefix, st, nil)
}

// Struct returns a family for every numeric field of the struct v, named
// prefix_<field>; nested structs add their own name (prefix_<struct>_<field>).
// gauges names the fields (dotted paths from v, as in "IP.ReasmPending")
// that are gauges besides the signed integers; nil means the stack's list.
// Other field kinds (strings, maps, pointers) are skipped.
//
// An embedded struct's fields are named as the outer struct's. If v has
// a method MetricLabel(path string, i int) (name, value string), it
// names the elements of v's array fields (name "" falls back to index).
func Struct(prefix string, v any, gauges map[string]bool) []Family {
	isGauge := stackGauge
	if gauges != nil {
		isGauge = func(path string) bool { return gauges[path] }
	}
	labeler, _ := v.(interface {
		MetricLabel(path string, i int) (name, value string)
	})
	w := walker{isGauge: isGauge, labeler: labeler}
	w.walk(prefix, "", reflect.ValueOf(v))
	return w.out
}

type walker struct {
	out     []Family
	isGauge func(string) bool
	labeler interface {
		MetricLabel(path string, i int) (name, value string)
	}
}

// layerFamily is the family label of the metrics of the stack.Stats
// layer at path (its field name), or "" for layers under both families.
func layerFamily(path string) string {
	switch path {
	case "IP", "ICMP", "ARP":
		return "ipv4"
	case "IPv6", "ICMPv6", "NDP", "MLD":
		return "ipv6"
	}
	return ""
}

// splitField returns the index of the field of struct type t that holds
// the IPv6 share of its embedded struct at index emb, or -1: a field
// named IPv6 of the embedded field's type.
func splitField(t reflect.Type, emb int) int {
	f, ok := t.FieldByName("IPv6")
	if !ok || len(f.Index) != 1 || f.Anonymous || f.Type != t.Field(emb).Type {
		return -1
	}
	return f.Index[0]
}

func (w *walker) walk(name, path string, v reflect.Value) {
	out, isGauge := &w.out, w.isGauge
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		emb, six := firstEmbedded(t), -1
		if emb >= 0 {
			six = splitField(t, emb)
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || i == six {
				continue
			}
			if i == emb && six >= 0 {
				w.walkSplit(name, path, v.Field(i), v.Field(six))
				continue
			}
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				w.walk(name, path, v.Field(i))
				continue
			}
			p := f.Name
			if path != "" {
				p = path + "." + f.Name
			}
			start := len(w.out)
			w.walk(name+"_"+Snake(f.Name), p, v.Field(i))
			if fam := layerFamily(p); fam != "" && path == "" && name == Prefix {
				for k := start; k < len(w.out); k++ {
					for s := range w.out[k].Samples {
						w.out[k].Samples[s].Labels = append(w.out[k].Samples[s].Labels, Label{"family", fam})
					}
				}
			}
		}
	case reflect.Array:
		if v.Len() == 0 || !numeric(v.Type().Elem().Kind()) {
			return
		}
		label := arrayLabel(path)
		if w.labeler != nil {
			if n, _ := w.labeler.MetricLabel(path, 0); n != "" {
				label = func(i int) Label {
					n, val := w.labeler.MetricLabel(path, i)
					return Label{n, val}
				}
			}
		}
		fam := Family{Name: name, Help: help(path), Type: typeOf(path, v.Type().Elem().Kind(), isGauge)}
		for i := range v.Len() {
			fam.Samples = append(fam.Samples, Sample{Labels: []Label{label(i)}, Value: value(v.Index(i))})
		}
		*out = append(*out, fam)
	default:
		if !numeric(v.Kind()) {
			return
		}
		*out = append(*out, Family{
			Name: name, Help: help(path), Type: typeOf(path, v.Kind(), isGauge),
			Samples: []Sample{{Value: value(v)}},
		})
	}
}

// firstEmbedded returns the index of t's first embedded struct field, or
// -1.
func firstEmbedded(t reflect.Type) int {
	for i := range t.NumField() {
		if f := t.Field(i); f.Anonymous && f.Type.Kind() == reflect.Struct {
			return i
		}
	}
	return -1
}

// walkSplit walks the counters total (both families) and v6 (IPv6's
// share) of one struct together: each numeric field becomes one family
// with a sample per address family.
func (w *walker) walkSplit(name, path string, total, v6 reflect.Value) {
	switch total.Kind() {
	case reflect.Struct:
		t := total.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			p := f.Name
			if path != "" {
				p = path + "." + f.Name
			}
			n := name + "_" + Snake(f.Name)
			if f.Anonymous {
				n, p = name, path
			}
			w.walkSplit(n, p, total.Field(i), v6.Field(i))
		}
	case reflect.Array:
		if total.Len() == 0 || !numeric(total.Type().Elem().Kind()) {
			return
		}
		label := arrayLabel(path)
		fam := Family{Name: name, Help: help(path), Type: typeOf(path, total.Type().Elem().Kind(), w.isGauge)}
		for i := range total.Len() {
			six := value(v6.Index(i))
			fam.Samples = append(fam.Samples,
				Sample{Labels: []Label{label(i), {"family", "ipv4"}}, Value: value(total.Index(i)) - six},
				Sample{Labels: []Label{label(i), {"family", "ipv6"}}, Value: six})
		}
		w.out = append(w.out, fam)
	default:
		if !numeric(total.Kind()) {
			return
		}
		six := value(v6)
		w.out = append(w.out, Family{
			Name: name, Help: help(path), Type: typeOf(path, total.Kind(), w.isGauge),
			Samples: []Sample{
				{Labels: []Label{{"family", "ipv4"}}, Value: value(total) - six},
				{Labels: []Label{{"family", "ipv6"}}, Value: six},
			},
		})
	}
}

func help(path string) string { return "stats field " + path }

func typeOf(path string, k reflect.Kind, isGauge func(string) bool) Type {
	if isGauge(path) || k == reflect.Float32 || k == reflect.Float64 {
		return Gauge
	}
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return Gauge
	}
	return Counter
}

func numeric(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Bool:
		return true
	}
	return false
}

func value(v reflect.Value) float64 {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Bool:
		if v.Bool() {
			return 1
		}
		return 0
	default:
		return float64(v.Uint())
	}
}

// Snake converts a Go field name to snake case, keeping acronyms whole:
// RTOEvents is rto_events, RxNotForUs is rx_not_for_us, and the family
// names too: IPv6 is ipv6, ICMPv6Errors icmpv6_errors.
func Snake(s string) string {
	for _, a := range [...]string{"ICMPv", "IPv"} {
		s = strings.ReplaceAll(s, a, a[:1]+strings.ToLower(a[1:]))
	}
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 {
			prev := r[i-1]
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// Write writes the families in the text exposition format.
func Write(w io.Writer, fams []Family) error {
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", f.Name, escapeHelp(f.Help), f.Name, f.Type)
		for _, s := range f.Samples {
			bw.WriteString(f.Name)
			bw.WriteString(s.Suffix)
			if len(s.Labels) > 0 {
				bw.WriteByte('{')
				for i, l := range s.Labels {
					if i > 0 {
						bw.WriteByte(',')
					}
					fmt.Fprintf(bw, "%s=\"%s\"", l.Name, escapeLabel(l.Value))
				}
				bw.WriteByte('}')
			}
			bw.WriteByte(' ')
			bw.WriteString(formatValue(s.Value))
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// escapeHelp escapes a HELP text: backslash and newline.
func escapeHelp(s string) string { return escape(s, false) }

// escapeLabel escapes a label value: backslash, newline and double quote.
func escapeLabel(s string) string { return escape(s, true) }

func escape(s string, quote bool) string {
	if !strings.ContainsAny(s, "\\\n\"") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '"' && quote:
			b.WriteString(`\"`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// HistogramSamples returns the samples of one histogram series with the
// given labels: a bucket per upper bound (cum holds the cumulative counts,
// one more than bounds: the last is +Inf, the total), the sum and the
// count.
func HistogramSamples(labels []Label, bounds []float64, cum []uint64, sum float64) []Sample {
	out := make([]Sample, 0, len(cum)+2)
	for i, n := range cum {
		le := "+Inf"
		if i < len(bounds) {
			le = formatValue(bounds[i])
		}
		l := append(append(make([]Label, 0, len(labels)+1), labels...), Label{"le", le})
		out = append(out, Sample{Suffix: "_bucket", Labels: l, Value: float64(n)})
	}
	out = append(out, Sample{Suffix: "_sum", Labels: labels, Value: sum}, Sample{Suffix: "_count", Labels: labels, Value: float64(cum[len(cum)-1])})
	return out
}
