package config

import (
	"go/parser"
	"go/token"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// GoSource writes Go that parses and carries every setting (that it
// compiles and runs is test/boot's TestBootProxyConfig).
func TestGoSource(t *testing.T) {
	l := NewListener("web", 8080, "p")
	l.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.2.0/24")}
	l.SNI = []Route{{Name: "*.example", Pool: "p"}}
	l.TLS = &TLS{CertFile: "c.pem", KeyFile: "k.pem", Cert: []byte("-----BEGIN CERTIFICATE-----\n\"x\"\n"), Key: []byte("k\x00")}
	p := NewPool("p")
	p.Balance, p.SendProxy = Source, 2
	p.Check.Interval = 1500 * time.Millisecond
	p.Upstreams = []Upstream{{Addr: "10.0.2.2:80", Weight: 3}}
	f := &File{Grace: time.Second, Listeners: []Listener{l}, Pools: []Pool{p}, Metrics: Metrics{Port: 9100}}
	src := GoSource(f, "x.toml")
	if _, err := parser.ParseFile(token.NewFileSet(), "gen.go", src, 0); err != nil {
		t.Fatalf("generated source does not parse: %v\n%s", err, src)
	}
	for _, want := range []string{`Name: "web", Port: 8080`, `netip.MustParsePrefix("10.0.2.0/24")`, `{Name: "*.example", Pool: "p"}`,
		`Balance: 2, SendProxy: 2`, "Interval: time.Duration(1500000000)", `{Addr: "10.0.2.2:80", Weight: 3}`,
		`Cert: []byte("-----BEGIN CERTIFICATE-----\n\"x\"\n")`, `Key: []byte("k\x00")`, "Port: 9100", "//go:build tamago"} {
		if !strings.Contains(src, want) {
			t.Errorf("generated source lacks %s", want)
		}
	}
	if tags := f.BuildTags(); len(tags) != 2 || tags[0] != "mirago_tls" || tags[1] != "mirago_metrics" {
		t.Errorf("BuildTags = %v", tags)
	}
}
