package inet

import "testing"

func TestParsePort(t *testing.T) {
	for s, want := range map[string]uint16{"7": 7, " 8080 ": 8080, "65535": 65535} {
		if p, err := ParsePort("-port", s); p != want || err != nil {
			t.Errorf("ParsePort(%q) = %d, %v", s, p, err)
		}
	}
	for _, s := range []string{"", "0", "65536", "-1", "x", "7x"} {
		if _, err := ParsePort("-port", s); err == nil || err.Error() != "bad -port "+quote(s)+": want a port 1-65535" {
			t.Errorf("ParsePort(%q): %v", s, err)
		}
	}
}

func quote(s string) string { return `"` + s + `"` }
