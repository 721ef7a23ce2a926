package buildcfg

import "testing"

func TestParseIP6(t *testing.T) {
	got, err := ParseIP6(" 2001:db8::15/64, fd00:1::7 ,fe80::15/10,")
	if err != nil || len(got) != 3 || got[0].String() != "2001:db8::15/64" || got[1].String() != "fd00:1::7/64" || got[2].String() != "fe80::15/10" {
		t.Fatalf("ParseIP6 = %v, %v", got, err)
	}
	if got, err := ParseIP6(""); err != nil || got != nil {
		t.Fatalf("empty: %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.2.15/24", "::ffff:10.0.2.15/120", "::/0", "::/64", "::1/128", "ff02::1/64", "2001:db8::1/129", "2001:db8::1/0", "fe80::1%eth0/64", "banana"} {
		if p, err := ParseIP6(bad); err == nil {
			t.Errorf("ParseIP6(%q) = %v, want an error", bad, p)
		}
	}
}
