package metrics

import (
	"strings"
	"testing"
)

func TestHistogramWriteParse(t *testing.T) {
	l := []Label{{"pool", "web"}}
	fam := Family{Name: "x_seconds", Help: "h", Type: Histogram,
		Samples: HistogramSamples(l, []float64{0.001, 0.5}, []uint64{2, 5, 6}, 1.25)}
	var b strings.Builder
	if err := Write(&b, []Family{fam}); err != nil {
		t.Fatal(err)
	}
	want := `# HELP x_seconds h
# TYPE x_seconds histogram
x_seconds_bucket{pool="web",le="0.001"} 2
x_seconds_bucket{pool="web",le="0.5"} 5
x_seconds_bucket{pool="web",le="+Inf"} 6
x_seconds_sum{pool="web"} 1.25
x_seconds_count{pool="web"} 6
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	m, err := Parse(strings.NewReader(b.String()))
	if err != nil || m[`x_seconds_count{pool="web"}`] != 6 || m[`x_seconds_bucket{pool="web",le="+Inf"}`] != 6 {
		t.Fatalf("Parse = %v, %v", m, err)
	}
}
