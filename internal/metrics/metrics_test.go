package metrics

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"Received":          "received",
		"RTOEvents":         "rto_events",
		"RxNotForUs":        "rx_not_for_us",
		"TCPBroadcastDrops": "tcp_broadcast_drops",
		"IP":                "ip",
		"ZeroChecksumIn":    "zero_checksum_in",
		"ReasmMemory":       "reasm_memory",
		"DropIHL":           "drop_ihl",
		"Ipv4Drops":         "ipv4_drops",
		"IPv6":              "ipv6",
		"ICMPv6":            "icmpv6",
		"TCPIPv6Drops":      "tcp_ipv6_drops",
		"DropIPv4Mapped":    "drop_ipv4_mapped",
	} {
		if got := Snake(in); got != want {
			t.Errorf("Snake(%q) = %q, want %q", in, got, want)
		}
	}
}

var nameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// Every field of stack.Stats is exported, once, under a valid name.
func TestStackFamiliesCoverEveryField(t *testing.T) {
	var st stack.Stats
	st.IP.Received = 42
	st.TCP.States[tcp.Established] = 3
	st.TCP.Drops[tcp.DropChecksum] = 5
	st.TCP.Retransmits, st.TCP.IPv6.Retransmits = 10, 4
	st.UDP.InDatagrams, st.UDP.IPv6.InDatagrams = 3, 3
	st.IPv6.Received = 9
	st.ICMP.ErrorsIn[3] = 7
	st.ARP.CacheSize = 2
	fams := Stack(st)
	seen := map[string]Family{}
	for _, f := range fams {
		if !nameRE.MatchString(f.Name) || !strings.HasPrefix(f.Name, "mirago_") {
			t.Errorf("bad metric name %q", f.Name)
		}
		if _, dup := seen[f.Name]; dup {
			t.Errorf("duplicate family %s", f.Name)
		}
		seen[f.Name] = f
	}
	want := map[string]struct {
		typ Type
		val float64
	}{
		"mirago_udp_open_sockets": {Gauge, 0},
		"mirago_device_rx_frames": {Counter, 0},
		"mirago_ethernet_rx_runt": {Counter, 0},
	}
	for name, w := range want {
		f, ok := seen[name]
		if !ok {
			t.Errorf("no family %s", name)
			continue
		}
		if f.Type != w.typ || len(f.Samples) != 1 || f.Samples[0].Value != w.val || len(f.Samples[0].Labels) != 0 {
			t.Errorf("%s = %+v, want %s %v", name, f, w.typ, w.val)
		}
	}
	// The layers of one family carry it as a label; the transports'
	// counters have a sample per family (IPv4's: the total less IPv6's).
	for name, w := range map[string]struct {
		typ    Type
		v4, v6 float64
	}{
		"mirago_ip_received":      {Counter, 42, -1},
		"mirago_arp_cache_size":   {Gauge, 2, -1},
		"mirago_ip_reasm_pending": {Gauge, 0, -1},
		"mirago_ipv6_received":    {Counter, -1, 9},
		"mirago_tcp_rto_events":   {Counter, 0, 0},
		"mirago_tcp_retransmits":  {Counter, 6, 4},
		"mirago_tcp_conns":        {Gauge, 0, 0},
		"mirago_udp_in_datagrams": {Counter, 0, 3},
	} {
		f, ok := seen[name]
		if !ok {
			t.Errorf("no family %s", name)
			continue
		}
		got := map[string]float64{}
		for _, s := range f.Samples {
			if len(s.Labels) != 1 || s.Labels[0].Name != "family" {
				t.Errorf("%s sample %+v: want one family label", name, s)
			}
			got[s.Labels[0].Value] = s.Value
		}
		for fam, v := range map[string]float64{"ipv4": w.v4, "ipv6": w.v6} {
			if g, ok := got[fam]; v < 0 && ok || v >= 0 && (!ok || g != v) {
				t.Errorf("%s{family=%q} = %v (present %v), want %v", name, fam, g, ok, v)
			}
		}
		if f.Type != w.typ {
			t.Errorf("%s: type %s, want %s", name, f.Type, w.typ)
		}
	}
	if _, ok := seen["mirago_tcp_ipv6_retransmits"]; ok {
		t.Error("the IPv6 share exported as a metric of its own")
	}
	states := seen["mirago_tcp_states"]
	if states.Type != Gauge || len(states.Samples) != tcp.NumStates {
		t.Fatalf("tcp states: %+v", states)
	}
	for _, s := range states.Samples {
		if s.Labels[0].Name != "state" || (s.Labels[0].Value == "ESTABLISHED") != (s.Value == 3) {
			t.Errorf("tcp states sample %+v", s)
		}
	}
	drops := seen["mirago_tcp_drops"]
	if drops.Type != Counter || len(drops.Samples) != 2*int(tcp.NumDropReasons) || drops.Samples[0].Labels[0] != (Label{"reason", "checksum"}) ||
		drops.Samples[0].Labels[1] != (Label{"family", "ipv4"}) || drops.Samples[0].Value != 5 || drops.Samples[1].Labels[1] != (Label{"family", "ipv6"}) || drops.Samples[1].Value != 0 {
		t.Errorf("tcp drops: %+v", drops)
	}
	if e := seen["mirago_icmp_errors_in"]; len(e.Samples) < 4 || e.Samples[3].Labels[0] != (Label{"type", "3"}) || e.Samples[3].Value != 7 {
		t.Errorf("icmp errors in: %+v", e)
	}
	// Counting the leaves of the struct: each scalar or array field is
	// one family.
	if n := countLeaves(st); len(fams) != n {
		t.Errorf("%d families for %d fields", len(fams), n)
	}
}

func countLeaves(st stack.Stats) int {
	w := walker{isGauge: stackGauge}
	w.walk("x", "", reflectValue(st))
	return len(w.out)
}

func TestWriteAndParse(t *testing.T) {
	fams := []Family{
		{Name: "a_total", Help: "line one\nback\\slash", Type: Counter, Samples: []Sample{{Value: 1 << 40}}},
		{Name: "b", Help: "gauge", Type: Gauge, Samples: []Sample{
			{Labels: []Label{{"state", `we"ird`}}, Value: -2},
			{Labels: []Label{{"state", "ok"}, {"x", "y"}}, Value: 0.5},
		}},
	}
	var buf bytes.Buffer
	if err := Write(&buf, fams); err != nil {
		t.Fatal(err)
	}
	want := `# HELP a_total line one\nback\\slash
# TYPE a_total counter
a_total 1099511627776
# HELP b gauge
# TYPE b gauge
b{state="we\"ird"} -2
b{state="ok",x="y"} 0.5
`
	if buf.String() != want {
		t.Fatalf("Write:\n%s\nwant:\n%s", buf.String(), want)
	}
	m, err := Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if m["a_total"] != 1<<40 || m[`b{state="ok",x="y"}`] != 0.5 || len(m) != 3 {
		t.Fatalf("Parse: %v", m)
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"x 1\n",                           // no TYPE
		"# TYPE x counter\nx one\n",       // bad value
		"# TYPE x counter\nx 1\nx 2\n",    // duplicate
		"# TYPE x counter\nx{a=\"b\" 1\n", // unterminated
		"# TYPE x counter\nnovalue\n",     // no value
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

// An app's own counters: a struct of atomics' snapshot.
func TestStructAppCounters(t *testing.T) {
	type appStats struct {
		Accepted   uint64
		RefusedACL uint64
		Active     int64
		name       string
	}
	fams := Struct("mirago_proxy", appStats{Accepted: 4, RefusedACL: 1, Active: 2}, map[string]bool{})
	var buf bytes.Buffer
	Write(&buf, fams)
	text := buf.String()
	m, err := Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if m["mirago_proxy_accepted"] != 4 || m["mirago_proxy_refused_acl"] != 1 || m["mirago_proxy_active"] != 2 || len(m) != 3 {
		t.Fatalf("app counters: %v\n%s", m, text)
	}
	if !strings.Contains(text, "# TYPE mirago_proxy_active gauge") || !strings.Contains(text, "# TYPE mirago_proxy_accepted counter") {
		t.Fatalf("types:\n%s", text)
	}
}

// Escaping follows the text exposition format: backslash and newline in
// HELP; backslash, newline and double quote in label values.
func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, help, label string }{
		{"plain", "plain", "plain"},
		{`a\b`, `a\\b`, `a\\b`},
		{"a\nb", `a\nb`, `a\nb`},
		{`say "hi"`, `say "hi"`, `say \"hi\"`},
		{"\\\n\"", `\\\n"`, `\\\n\"`},
	} {
		if got := escapeHelp(tc.in); got != tc.help {
			t.Errorf("escapeHelp(%q) = %q, want %q", tc.in, got, tc.help)
		}
		if got := escapeLabel(tc.in); got != tc.label {
			t.Errorf("escapeLabel(%q) = %q, want %q", tc.in, got, tc.label)
		}
	}
}

// An embedded struct's fields read as the outer struct's, and a
// MetricLabel method names array elements.
type labelled struct {
	Inner
	Gauge  float64
	Counts [2]uint64
}

type Inner struct{ Hits uint64 }

func (labelled) MetricLabel(path string, i int) (string, string) {
	if path == "Counts" {
		return "reason", []string{"short", "long"}[i]
	}
	return "", ""
}

func TestStructEmbeddedAndLabels(t *testing.T) {
	fams := Struct("p", labelled{Inner{3}, 1.5, [2]uint64{4, 5}}, map[string]bool{})
	var b strings.Builder
	Write(&b, fams)
	for _, want := range []string{"p_hits 3\n", "p_gauge 1.5\n", `p_counts{reason="long"} 5`, "# TYPE p_gauge gauge", "# TYPE p_hits counter"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
