package impair

import (
	"strings"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	got, err := ParseSpec("loss=0.05,reorder=0.05,dup=0.01,corrupt=0.001,delay=5ms,seed=1")
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{Loss: 0.05, Reorder: 0.05, Dup: 0.01, Corrupt: 0.001, Delay: 5 * time.Millisecond, Seed: 1}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	got, err = ParseSpec(" loss=5% , jitter=1ms,hold=2ms,rate=10mbit,burst=3000,limit=64,dir=rx ")
	if err != nil {
		t.Fatal(err)
	}
	want = Spec{Loss: 0.05, Jitter: time.Millisecond, ReorderHold: 2 * time.Millisecond,
		Rate: 10_000_000, Burst: 3000, Limit: 64, Dir: Rx}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for in, rate := range map[string]uint64{"rate=1500": 1500, "rate=2kbit": 2000, "rate=1.5Mbps": 1_500_000, "rate=1g": 1e9} {
		if s, err := ParseSpec(in); err != nil || s.Rate != rate {
			t.Errorf("%s: %d, %v; want %d", in, s.Rate, err, rate)
		}
	}
	if s, err := ParseSpec(""); err != nil || s != (Spec{}) {
		t.Errorf("empty: %+v, %v", s, err)
	}
}

func TestParseSpecErrors(t *testing.T) {
	for in, want := range map[string]string{
		"lose=0.1":       `unknown key "lose"`,
		"loss=1.5":       "probability outside [0,1]",
		"dup=-0.1":       "probability outside [0,1]",
		"corrupt=NaN":    "probability outside [0,1]",
		"reorder=x":      "not a number",
		"delay=5":        "bad duration",
		"jitter=-1ms":    "negative duration",
		"rate=fast":      "bad rate",
		"seed=-1":        "seed=-1",
		"dir=up":         "want tx, rx or both",
		"loss":           "not key=value",
		"limit=many":     "non-negative integer",
		"loss=0.1,bad=1": `unknown key "bad"`,
	} {
		_, err := ParseSpec(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSpec(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}
