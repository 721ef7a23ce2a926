// Package conffile reads the proxy appliance's configuration file, TOML
// (https://toml.io, v1.0.0), into a config.File, and reports every fault
// with the line it is on. The TOML syntax is go-toml's
// (github.com/pelletier/go-toml/v2); this package maps the document onto
// the configuration and remembers where each setting was written.
//
// It runs on the host, and at build time for an image
// (app/proxy/cmd/proxyconf); images never link it.
//
// The format (app/proxy/README.md has the reference and an example):
//
//	grace = "5s"
//	[metrics]          port, allow
//	[listener.NAME]    port, pool, allow, max_conns, max_per_client,
//	                   idle_timeout, accept_proxy, proxy_from,
//	                   proxy_timeout, hello_timeout, max_hello
//	[listener.NAME.sni]  "host.name" = "pool", "*.domain" = "pool"
//	[listener.NAME.tls]  cert, key (PEM files, relative to the file)
//	[pool.NAME]        upstreams, balance, send_proxy, connect_timeout
//	[pool.NAME.check]  interval, timeout, rise, fall
package conffile

import (
	"crypto/tls"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mirago/mirago/app/proxy/config"
	toml "github.com/pelletier/go-toml/v2"
)

// Load reads and checks the file at path. On faults it returns them all
// (config.Errors, one per line "path:LINE: what"), or the error reading
// the file.
func Load(path string, o config.Options) (*config.File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, o)
}

// Parse is Load of the contents data, named name in messages; relative
// certificate paths are taken from name's directory.
func Parse(name string, data []byte, o config.Options) (*config.File, error) {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, _ := de.Position()
			return nil, config.Errors{{Where: name + ":" + strconv.Itoa(row), Msg: "TOML: " + strings.TrimPrefix(de.Error(), "toml: ")}}
		}
		return nil, config.Errors{{Where: name, Msg: err.Error()}}
	}
	d := &decoder{name: name, dir: filepath.Dir(name), f: &config.File{Grace: config.DefaultGrace}}
	d.f.Where = positions(name, data)
	d.file(doc)
	if len(d.errs) == 0 {
		d.errs = d.f.Validate(o)
	} else {
		d.errs = append(d.errs, d.f.Validate(o)...)
	}
	if len(d.errs) > 0 {
		es := dedupe(d.errs)
		config.SortErrors(es)
		return nil, es
	}
	return d.f, nil
}

// decoder maps the decoded document onto a config.File.
type decoder struct {
	name, dir string
	f         *config.File
	errs      config.Errors
}

func (d *decoder) fail(path, msg string) { d.f.Errorf(&d.errs, path, msg) }

// unknown reports the keys of m not in known.
func (d *decoder) unknown(path string, m map[string]any, known ...string) {
	for _, k := range sortedKeys(m) {
		if !slices.Contains(known, k) {
			d.fail(join(path, k), "unknown setting "+strconv.Quote(k)+" in "+orTop(path))
		}
	}
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return "[" + path + "]"
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// inFileOrder returns the keys of the table at path in the order they
// were written.
func (d *decoder) inFileOrder(path string, m map[string]any) []string {
	ks := sortedKeys(m)
	line := func(k string) int {
		w := d.f.Where[path+"."+k]
		n, _ := strconv.Atoi(w[strings.LastIndexByte(w, ':')+1:])
		return n
	}
	slices.SortStableFunc(ks, func(a, b string) int { return line(a) - line(b) })
	return ks
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (d *decoder) file(doc map[string]any) {
	d.unknown("", doc, "grace", "metrics", "listener", "pool")
	d.duration("grace", doc, &d.f.Grace)
	if m, ok := d.table("metrics", doc); ok {
		d.unknown("metrics", m, "port", "allow")
		d.port("metrics.port", m, "port", &d.f.Metrics.Port)
		d.cidrs("metrics.allow", m, "allow", &d.f.Metrics.Allow)
	}
	if ls, ok := d.table("listener", doc); ok {
		for _, name := range d.inFileOrder("listener", ls) {
			d.listener(name, ls[name])
		}
	}
	if ps, ok := d.table("pool", doc); ok {
		for _, name := range d.inFileOrder("pool", ps) {
			d.pool(name, ps[name])
		}
	}
}

func (d *decoder) listener(name string, v any) {
	at := "listener." + name
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(at, "listener "+strconv.Quote(name)+" must be a table ([listener."+name+"])")
		return
	}
	d.unknown(at, m, "port", "pool", "allow", "max_conns", "max_per_client", "idle_timeout", "accept_proxy",
		"proxy_from", "proxy_timeout", "hello_timeout", "max_hello", "sni", "tls")
	l := config.NewListener(name, 0, "")
	if _, ok := m["port"]; !ok {
		d.fail(at, "listener "+strconv.Quote(name)+" has no port")
	}
	d.port(at+".port", m, "port", &l.Port)
	d.str(at+".pool", m, "pool", &l.Pool)
	d.cidrs(at+".allow", m, "allow", &l.Allow)
	d.int(at+".max_conns", m, "max_conns", &l.MaxConns)
	d.int(at+".max_per_client", m, "max_per_client", &l.MaxPerClient)
	d.duration(at+".idle_timeout", m, &l.IdleTimeout)
	d.bool(at+".accept_proxy", m, "accept_proxy", &l.AcceptProxy)
	d.cidrs(at+".proxy_from", m, "proxy_from", &l.ProxyFrom)
	d.duration(at+".proxy_timeout", m, &l.ProxyTimeout)
	d.duration(at+".hello_timeout", m, &l.HelloTimeout)
	d.int(at+".max_hello", m, "max_hello", &l.MaxHello)
	if sni, ok := d.table(at+".sni", m); ok {
		for _, host := range sortedKeys(sni) {
			pool, ok := sni[host].(string)
			if !ok {
				d.fail(at+".sni."+host, "sni route "+strconv.Quote(host)+" must name a pool (a string)")
				continue
			}
			l.SNI = append(l.SNI, config.Route{Name: host, Pool: pool})
		}
	}
	if t, ok := d.table(at+".tls", m); ok {
		d.unknown(at+".tls", t, "cert", "key")
		l.TLS = d.tls(at+".tls", t)
	}
	d.f.Listeners = append(d.f.Listeners, l)
}

// tls reads the certificate and key files and checks that they match.
func (d *decoder) tls(at string, t map[string]any) *config.TLS {
	var c config.TLS
	d.str(at+".cert", t, "cert", &c.CertFile)
	d.str(at+".key", t, "key", &c.KeyFile)
	if c.CertFile == "" || c.KeyFile == "" {
		d.fail(at, "tls needs cert and key (PEM files)")
		return &c
	}
	var err error
	if c.Cert, err = os.ReadFile(d.rel(c.CertFile)); err != nil {
		d.fail(at+".cert", "certificate: "+err.Error())
	}
	if c.Key, err = os.ReadFile(d.rel(c.KeyFile)); err != nil {
		d.fail(at+".key", "key: "+err.Error())
	}
	if len(c.Cert) > 0 && len(c.Key) > 0 {
		if _, err := tls.X509KeyPair(c.Cert, c.Key); err != nil {
			d.fail(at, "certificate and key: "+err.Error())
		}
	}
	return &c
}

func (d *decoder) rel(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.dir, p)
}

func (d *decoder) pool(name string, v any) {
	at := "pool." + name
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(at, "pool "+strconv.Quote(name)+" must be a table ([pool."+name+"])")
		return
	}
	d.unknown(at, m, "upstreams", "balance", "send_proxy", "connect_timeout", "check")
	p := config.NewPool(name)
	if b, ok := m["balance"]; ok {
		s, _ := b.(string)
		if p.Balance, ok = config.ParseBalance(s); !ok {
			d.fail(at+".balance", "balance must be roundrobin, leastconn or source")
		}
	}
	if sp, ok := m["send_proxy"]; ok {
		switch sp {
		case "v1":
			p.SendProxy = 1
		case "v2":
			p.SendProxy = 2
		case "", "off":
		default:
			d.fail(at+".send_proxy", "send_proxy must be \"v1\", \"v2\" or \"off\"")
		}
	}
	d.duration(at+".connect_timeout", m, &p.ConnectTimeout)
	if c, ok := d.table(at+".check", m); ok {
		d.unknown(at+".check", c, "interval", "timeout", "rise", "fall")
		d.duration(at+".check.interval", c, &p.Check.Interval)
		d.duration(at+".check.timeout", c, &p.Check.Timeout)
		d.int(at+".check.rise", c, "rise", &p.Check.Rise)
		d.int(at+".check.fall", c, "fall", &p.Check.Fall)
	}
	switch us := m["upstreams"].(type) {
	case nil:
	case []any:
		for i, u := range us {
			uat := at + ".upstreams[" + strconv.Itoa(i) + "]"
			switch u := u.(type) {
			case string:
				p.Upstreams = append(p.Upstreams, config.Upstream{Addr: u, Weight: config.DefaultWeight})
			case map[string]any:
				d.unknown(uat, u, "addr", "weight")
				up := config.Upstream{Weight: config.DefaultWeight}
				d.str(uat+".addr", u, "addr", &up.Addr)
				d.int(uat+".weight", u, "weight", &up.Weight)
				p.Upstreams = append(p.Upstreams, up)
			default:
				d.fail(uat, "an upstream is \"HOST:PORT\" or { addr = \"HOST:PORT\", weight = N }")
			}
		}
	default:
		d.fail(at+".upstreams", "upstreams must be a list")
	}
	d.f.Pools = append(d.f.Pools, p)
}

// The typed getters below set *dst from m[key] when present, or report a
// fault at path.

func (d *decoder) table(path string, m map[string]any) (map[string]any, bool) {
	k := path[strings.LastIndexByte(path, '.')+1:]
	v, ok := m[k]
	if !ok {
		return nil, false
	}
	t, ok := v.(map[string]any)
	if !ok {
		d.fail(path, k+" must be a table")
	}
	return t, ok
}

func (d *decoder) str(path string, m map[string]any, key string, dst *string) {
	if v, ok := m[key]; ok {
		if s, ok := v.(string); ok {
			*dst = s
			return
		}
		d.fail(path, key+" must be a string")
	}
}

func (d *decoder) bool(path string, m map[string]any, key string, dst *bool) {
	if v, ok := m[key]; ok {
		if b, ok := v.(bool); ok {
			*dst = b
			return
		}
		d.fail(path, key+" must be true or false")
	}
}

func (d *decoder) int(path string, m map[string]any, key string, dst *int) {
	if v, ok := m[key]; ok {
		if n, ok := v.(int64); ok && n >= -1<<31 && n < 1<<31 {
			*dst = int(n)
			return
		}
		d.fail(path, key+" must be a whole number")
	}
}

func (d *decoder) port(path string, m map[string]any, key string, dst *uint16) {
	if v, ok := m[key]; ok {
		if n, ok := v.(int64); ok && n >= 1 && n <= 65535 {
			*dst = uint16(n)
			return
		}
		d.fail(path, key+" must be a port 1-65535")
	}
}

// duration reads a Go duration string ("1.5s", "5m").
func (d *decoder) duration(path string, m map[string]any, dst *time.Duration) {
	key := path[strings.LastIndexByte(path, '.')+1:]
	v, ok := m[key]
	if !ok {
		return
	}
	s, _ := v.(string)
	t, err := time.ParseDuration(s)
	if err != nil {
		d.fail(path, key+" must be a duration such as \"500ms\", \"10s\" or \"5m\"")
		return
	}
	*dst = t
}

// cidrs reads a list of IPv4 and IPv6 CIDRs (a bare address is a /32 or
// /128).
func (d *decoder) cidrs(path string, m map[string]any, key string, dst *[]netip.Prefix) {
	v, ok := m[key]
	if !ok {
		return
	}
	list, ok := v.([]any)
	if !ok {
		d.fail(path, key+" must be a list of CIDRs, e.g. [\"10.0.2.0/24\"]")
		return
	}
	for i, e := range list {
		s, _ := e.(string)
		p, err := ParseCIDR(s)
		if err != nil {
			d.fail(path+"["+strconv.Itoa(i)+"]", err.Error())
			continue
		}
		*dst = append(*dst, p)
	}
}

// ParseCIDR parses an IPv4 or IPv6 CIDR; a bare address means that
// address alone (config.ParsePrefix).
func ParseCIDR(s string) (netip.Prefix, error) { return config.ParsePrefix(s) }

// dedupe drops repeated faults (a fault in the decoding may be found again
// by Validate).
func dedupe(es config.Errors) config.Errors {
	seen := map[string]bool{}
	out := es[:0]
	for _, e := range es {
		if k := e.Error(); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}
