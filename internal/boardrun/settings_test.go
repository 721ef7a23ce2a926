package boardrun

import (
	"testing"

	"github.com/mirago/mirago/logging"
	"github.com/mirago/mirago/stack/inet"
)

func TestParseDefaults(t *testing.T) {
	s, err := Parse("10.0.2.15/24", "10.0.2.2", "")
	if err != nil {
		t.Fatal(err)
	}
	wantAddr, _ := inet.ParsePrefix4("10.0.2.15/24")
	wantGW, _ := inet.ParseAddr4("10.0.2.2")
	if s.Stack.Addr != wantAddr || s.Stack.Gateway != wantGW || s.DHCP {
		t.Fatalf("got %+v", s)
	}
}

func TestParseDHCPIgnoresIP(t *testing.T) {
	s, err := Parse("garbage", "garbage", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !s.DHCP || s.Stack.Addr != (inet.Prefix4{}) || s.Stack.Gateway != (inet.Addr4{}) {
		t.Fatalf("got %+v", s)
	}
}

func TestParseNoGateway(t *testing.T) {
	s, err := Parse("192.168.1.5/24", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Stack.Gateway != (inet.Addr4{}) {
		t.Fatalf("gateway %v, want none", s.Stack.Gateway)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ ip, gw string }{
		{"", ""},
		{"10.0.2.15", ""},
		{"10.0.2.15/33", ""},
		{"0.0.0.0/24", ""},
		{"127.0.0.1/8", ""},
		{"224.0.0.1/24", ""},
		{"255.255.255.255/24", ""},
		{"10.0.2.15/24", "10.0.3.1"},
		{"10.0.2.15/24", "x"},
		{"10.0.2.15/24", "10.0.2.2/24"},
	} {
		if s, err := Parse(c.ip, c.gw, ""); err == nil {
			t.Errorf("Parse(%q, %q) = %+v, want an error", c.ip, c.gw, s)
		}
	}
}

func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want logging.Level
		ok   bool
	}{
		{"", logging.LevelInfo, true},
		{"debug", logging.LevelDebug, true},
		{" DEBUG ", logging.LevelDebug, true},
		{"info", logging.LevelInfo, true},
		{"warn", logging.LevelWarn, true},
		{"error", logging.LevelError, true},
		{"verbose", logging.LevelInfo, false},
	} {
		if l, ok := ParseLevel(tc.in); l != tc.want || ok != tc.ok {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, %v", tc.in, l, ok, tc.want, tc.ok)
		}
	}
}

func TestParseIPv6(t *testing.T) {
	var s Settings
	if err := ParseIPv6(&s, "", ""); err != nil || len(s.Stack.Addrs6) != 0 || s.Stack.ND.DisableSLAAC {
		t.Fatalf("defaults: %v, %+v", err, s.Stack)
	}
	if err := ParseIPv6(&s, "2001:db8::15/64", "0"); err != nil || len(s.Stack.Addrs6) != 1 || s.Stack.Addrs6[0].String() != "2001:db8::15/64" || !s.Stack.ND.DisableSLAAC {
		t.Fatalf("IP6 and SLAAC=0: %v, %+v", err, s.Stack)
	}
	for _, on := range []string{"", "1", "on", "yes"} {
		var s Settings
		if ParseIPv6(&s, "", on); s.Stack.ND.DisableSLAAC {
			t.Errorf("SLAAC=%q turned SLAAC off", on)
		}
	}
	if err := ParseIPv6(&s, "10.0.2.15/24", ""); err == nil || err.Error()[:7] != "bad IP6" {
		t.Fatalf("IPv4 in IP6: %v", err)
	}
}
