package dns

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseMessage checks that decoding never panics and that what it
// returns respects the RFC 1035 limits. Seeds: testdata/fuzz/FuzzParseMessage.
func FuzzParseMessage(f *testing.F) {
	f.Add(unhex(f, queryExampleCom))
	f.Add(unhex(f, responseWWWGitHub))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			if m != nil {
				t.Fatal("message returned with an error")
			}
			return
		}
		for _, q := range m.Questions {
			checkName(t, q.Name)
		}
		for _, sec := range [][]Resource{m.Answers, m.Authorities, m.Additionals} {
			for _, rr := range sec {
				checkName(t, rr.Name)
				if rr.Type == TypeA && rr.Class == ClassINET && (len(rr.Data) != 4 || !rr.A.Is4()) {
					t.Fatalf("A record %+v", rr)
				}
				if rr.Type == TypeAAAA && rr.Class == ClassINET && (len(rr.Data) != 16 || !rr.AAAA.Is6()) {
					t.Fatalf("AAAA record %+v", rr)
				}
				if rr.Type == TypeCNAME {
					checkName(t, rr.Target)
				}
			}
		}
		answerOf(m, "example.com", TypeA)
		answerOf(m, "example.com", TypeAAAA)
	})
}

// checkName: a presentation name expands at most 4x (\DDD escapes) from at
// most 255 wire octets.
func checkName(t *testing.T, n string) {
	if n == "" || len(n) > 4*maxNameLen {
		t.Fatalf("name %q (%d bytes)", n, len(n))
	}
}

// TestFuzzSeedsAreRealMessages keeps the checked-in corpus meaningful:
// every seed except the deliberately malformed ones must parse.
func TestFuzzSeedsAreRealMessages(t *testing.T) {
	malformed := map[string]bool{"pointer_loop": true}
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
		if _, err := ParseMessage([]byte(s)); (err != nil) != malformed[e.Name()] {
			t.Errorf("%s: ParseMessage error = %v", e.Name(), err)
		}
	}
}
