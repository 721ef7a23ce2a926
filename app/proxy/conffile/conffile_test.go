package conffile

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/internal/testkit/testcert"
)

var opts = config.Options{Names: true, Metrics: true, TLS: true}

func TestParseAll(t *testing.T) {
	const doc = `
grace = "3s"

[metrics]
port = 9100
allow = ["10.0.2.0/24", "192.0.2.7"]

[listener.web]
port = 8080
pool = "web"
max_conns = 100
idle_timeout = "1m"
accept_proxy = true
proxy_from = ["10.0.2.1"]

[listener.tls]
port = 8443
pool = "web"
hello_timeout = "2s"
[listener.tls.sni]
"a.example" = "a"
"*.b.example" = "web"

[pool.web]
balance = "leastconn"
send_proxy = "v2"
upstreams = ["10.0.2.2:80", { addr = "backend.lan:80", weight = 3 }]
[pool.web.check]
interval = "2s"
rise = 1
fall = 2

[pool.a]
upstreams = ["10.0.2.3:443"]
`
	f, err := Parse("t.toml", []byte(doc), opts)
	if err != nil {
		t.Fatal(err)
	}
	web, tls, pw, pa := f.Listener("web"), f.Listener("tls"), f.Pool("web"), f.Pool("a")
	switch {
	case f.Grace != 3*time.Second || f.Metrics.Port != 9100 || len(f.Metrics.Allow) != 2 ||
		f.Metrics.Allow[1] != netip.MustParsePrefix("192.0.2.7/32"):
		t.Fatalf("top: %+v", f)
	case web == nil || web.Port != 8080 || web.Pool != "web" || web.MaxConns != 100 || web.MaxPerClient != config.DefaultMaxPerClient ||
		web.IdleTimeout != time.Minute || !web.AcceptProxy || len(web.ProxyFrom) != 1:
		t.Fatalf("listener web: %+v", web)
	case tls == nil || tls.HelloTimeout != 2*time.Second || len(tls.SNI) != 2 || tls.SNI[0] != (config.Route{Name: "*.b.example", Pool: "web"}):
		t.Fatalf("listener tls: %+v", tls)
	case pw == nil || pw.Balance != config.LeastConn || pw.SendProxy != 2 || len(pw.Upstreams) != 2 ||
		pw.Upstreams[1] != (config.Upstream{Addr: "backend.lan:80", Weight: 3}) || pw.Check.Interval != 2*time.Second ||
		pw.Check.Rise != 1 || pw.Check.Fall != 2 || pw.ConnectTimeout != config.DefaultConnectTimeout:
		t.Fatalf("pool web: %+v", pw)
	case pa == nil || pa.Balance != config.RoundRobin || pa.Check.Interval != 0 || pa.Upstreams[0].Weight != 1:
		t.Fatalf("pool a: %+v", pa)
	}
}

// Every fault is reported, one per line, each with its line number, in
// file order.
func TestEveryErrorWithItsLine(t *testing.T) {
	const doc = `grace = "soon"
colour = "blue"

[listener.web]
port = 80
pool = "nowhere"
allow = ["10.0.0.0/33"]

[listener.two]
port = 80
pool = "web"
[listener.two.sni]
"A.Example" = "web"

[pool.web]
balance = "random"
send_proxy = "v3"
upstreams = ["10.0.2.2", { addr = "10.0.2.3:80", weight = 0 }, 7]
[pool.web.check]
interval = "1s"
rise = 0
`
	_, err := Parse("p.toml", []byte(doc), config.Options{})
	es, ok := err.(config.Errors)
	if !ok {
		t.Fatalf("Parse = %v, want config.Errors", err)
	}
	want := []string{
		"p.toml:1: grace must be a duration",
		"p.toml:2: unknown setting \"colour\"",
		"p.toml:6: no pool called \"nowhere\"",
		"p.toml:7: bad CIDR \"10.0.0.0/33\"",
		"p.toml:10: port 80 is also",
		"p.toml:13: bad server name \"A.Example\"",
		"p.toml:16: balance must be",
		"p.toml:17: send_proxy must be",
		"p.toml:18: bad upstream \"10.0.2.2\"",
		"p.toml:18: weight must be 1-256",
		"p.toml:18: an upstream is",
		"p.toml:19: rise and fall must be 1 or more",
	}
	text := err.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("errors lack %q:\n%s", w, text)
		}
	}
	if len(es) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(es), len(want), text)
	}
	for i := 1; i < len(es); i++ {
		if es[i].Where < es[i-1].Where && len(es[i].Where) == len(es[i-1].Where) {
			t.Errorf("errors out of order:\n%s", text)
		}
	}
}

func TestSyntaxErrorHasItsLine(t *testing.T) {
	_, err := Parse("s.toml", []byte("[listener.a]\nport = 80\nport = 81\n"), opts)
	if err == nil || !strings.HasPrefix(err.Error(), "s.toml:3: TOML:") {
		t.Fatalf("duplicate key: %v", err)
	}
	_, err = Parse("s.toml", []byte("[pool.a]\nupstreams = [\"x\"\n"), opts)
	if err == nil || !strings.HasPrefix(err.Error(), "s.toml:") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("unterminated array: %v", err)
	}
}

func TestNamesNeedAResolver(t *testing.T) {
	doc := "[listener.a]\nport = 80\npool = \"p\"\n[pool.p]\nupstreams = [\"db.lan:5432\"]\n"
	if _, err := Parse("n.toml", []byte(doc), config.Options{}); err == nil || !strings.Contains(err.Error(), "n.toml:5: bad upstream \"db.lan:5432\": names need a DNS resolver") {
		t.Fatalf("name without resolver: %v", err)
	}
	if _, err := Parse("n.toml", []byte(doc), opts); err != nil {
		t.Fatal(err)
	}
}

func TestTLSFiles(t *testing.T) {
	dir := t.TempDir()
	cert, key := testcert.PEM()
	os.WriteFile(filepath.Join(dir, "c.pem"), cert, 0o600)
	os.WriteFile(filepath.Join(dir, "k.pem"), key, 0o600)
	os.WriteFile(filepath.Join(dir, "other.pem"), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600)
	doc := "[listener.s]\nport = 443\npool = \"p\"\n[listener.s.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n[pool.p]\nupstreams = [\"10.0.2.2:80\"]\n"
	f, err := Parse(filepath.Join(dir, "x.toml"), []byte(doc), opts)
	if err != nil {
		t.Fatal(err)
	}
	if l := f.Listener("s"); l.TLS == nil || string(l.TLS.Cert) != string(cert) || !f.UsesTLS() {
		t.Fatalf("tls not read: %+v", l.TLS)
	}
	bad := strings.Replace(doc, "c.pem", "other.pem", 1)
	if _, err := Parse(filepath.Join(dir, "x.toml"), []byte(bad), opts); err == nil || !strings.Contains(err.Error(), "x.toml:4: certificate and key") {
		t.Fatalf("mismatched pair: %v", err)
	}
	missing := strings.Replace(doc, "c.pem", "none.pem", 1)
	if _, err := Parse(filepath.Join(dir, "x.toml"), []byte(missing), opts); err == nil || !strings.Contains(err.Error(), "x.toml:5: certificate:") {
		t.Fatalf("missing file: %v", err)
	}
}
