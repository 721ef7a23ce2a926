package dhcp

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// FuzzParseMessage checks that decoding never panics, that accepted
// messages re-encode and re-parse, and that leaseFrom copes with whatever
// the parser accepts. Seeds: testdata/fuzz/FuzzParseMessage.
func FuzzParseMessage(f *testing.F) {
	f.Add(discoverFrame(f))
	f.Add(offerFrame(f))
	f.Add(requestFrame(f))
	f.Add(ackFrame(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		if m.Type() > Inform {
			t.Fatalf("message type %d accepted", m.Type())
		}
		if l, ok := leaseFrom(m, testStart, m.SIAddr); ok && (l.T1 > l.T2 || l.T2 > l.LeaseTime) {
			t.Fatalf("lease timers out of order: %+v", l)
		}
		m2, err := ParseMessage(encode(m))
		if err != nil {
			t.Fatalf("re-encoded message does not parse: %v", err)
		}
		if m2.XID != m.XID || m2.YIAddr != m.YIAddr || len(m2.Options) != len(m.Options) {
			t.Fatalf("round trip changed the message: %+v -> %+v", m, m2)
		}
	})
}

// TestFuzzSeedsAreRealMessages keeps the checked-in corpus meaningful:
// every seed except the deliberately malformed one must parse.
func TestFuzzSeedsAreRealMessages(t *testing.T) {
	dir := "testdata/fuzz/FuzzParseMessage"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s: not a go fuzz v1 file", e.Name())
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if _, err := ParseMessage([]byte(s)); (err != nil) != (e.Name() == "missing_end") {
			t.Errorf("%s: ParseMessage error = %v", e.Name(), err)
		}
	}
}
