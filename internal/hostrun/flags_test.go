//go:build !tamago

package hostrun

import (
	"flag"
	"strings"
	"testing"
)

// The IPv6 flags: -ip6 static addresses, -slaac, -ipv6.
func TestStackConfigIPv6(t *testing.T) {
	parse := func(args ...string) (*Flags, error) {
		var f Flags
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		f.Register(fs)
		return &f, fs.Parse(args)
	}
	f, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.StackConfig()
	if err != nil || cfg.DisableIPv6 || cfg.ND.DisableSLAAC || len(cfg.Addrs6) != 0 {
		t.Fatalf("defaults: IPv6 on with SLAAC and no static address; got %v, %+v", err, cfg)
	}
	f, _ = parse("-ip6", "2001:db8::15/64,fd00::15", "-slaac=false")
	cfg, err = f.StackConfig()
	if err != nil || len(cfg.Addrs6) != 2 || cfg.Addrs6[0].String() != "2001:db8::15/64" || cfg.Addrs6[1].String() != "fd00::15/64" || !cfg.ND.DisableSLAAC {
		t.Fatalf("-ip6 -slaac=false: %v, %+v", err, cfg)
	}
	f, _ = parse("-ipv6=false")
	if cfg, err = f.StackConfig(); err != nil || !cfg.DisableIPv6 {
		t.Fatalf("-ipv6=false: %v, %+v", err, cfg)
	}
	for _, args := range [][]string{{"-ip6", "10.0.2.15/24"}, {"-ip6", "ff02::1/64"}, {"-ipv6=false", "-ip6", "2001:db8::15/64"}} {
		f, _ := parse(args...)
		if _, err := f.StackConfig(); err == nil || !strings.Contains(err.Error(), "-ip6") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line naming -ip6", args, err)
		}
	}
}
