package config

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Error is one fault in a File.
type Error struct {
	// Where is where the setting was given ("proxy.toml:12", "-listen"),
	// or its path if that is not known.
	Where string
	// Path is the setting's path, e.g. "pool.web.upstreams[1].weight".
	Path string
	// Msg says what is wrong.
	Msg string
}

// Error implements error.
func (e *Error) Error() string { return e.Where + ": " + e.Msg }

// Errors are every fault found in a File, in the order of the file.
type Errors []*Error

// Error implements error: one line per fault.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Err returns es as an error, or nil if it is empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// Errorf adds a fault at path.
func (f *File) Errorf(es *Errors, path, msg string) {
	*es = append(*es, &Error{Where: f.where(path), Path: path, Msg: msg})
}

// where names path as the File's Where does, trying its parents.
func (f *File) where(path string) string {
	if w, ok := f.Where[path]; ok {
		return w
	}
	if path == "" {
		return "(top level)"
	}
	for p := path; p != ""; {
		if w, ok := f.Where[p]; ok {
			return w
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return path
}

// Options say what the running program can do, for Validate.
type Options struct {
	// Names: a resolver is available, so upstreams may be NAME:PORT.
	Names bool
	// Metrics: the metrics endpoint is built in.
	Metrics bool
	// TLS: TLS termination is built in.
	TLS bool
}

// ErrNoListener is the fault of a File without listeners.
var ErrNoListener = errors.New("no listener")

// Validate checks f and returns every fault, sorted by where they are.
func (f *File) Validate(o Options) Errors {
	var es Errors
	if f.Grace < 0 {
		f.Errorf(&es, "grace", "grace must be 0 or positive")
	}
	if len(f.Listeners) == 0 {
		f.Errorf(&es, "listener", "no listener: give at least one")
	}
	ports := map[uint16]string{}
	if f.Metrics.Port != 0 {
		if !o.Metrics {
			f.Errorf(&es, "metrics.port", "the metrics endpoint is not built into this image (make image METRICS=PORT, or a [metrics] table in CONFIG)")
		}
		ports[f.Metrics.Port] = "metrics"
	}
	for i := range f.Listeners {
		f.checkListener(&es, &f.Listeners[i], ports, o)
	}
	names := map[string]bool{}
	for i := range f.Pools {
		p := &f.Pools[i]
		if names[p.Name] {
			f.Errorf(&es, "pool."+p.Name, "pool "+strconv.Quote(p.Name)+" defined twice")
		}
		names[p.Name] = true
		f.checkPool(&es, p, o)
	}
	SortErrors(es)
	return es
}

func (f *File) checkListener(es *Errors, l *Listener, ports map[uint16]string, o Options) {
	at := "listener." + l.Name
	if !validName(l.Name) {
		f.Errorf(es, at, "listener name "+strconv.Quote(l.Name)+": want letters, digits, '-' or '_'")
	}
	switch other, dup := ports[l.Port]; {
	case l.Port == 0:
		f.Errorf(es, at+".port", "port must be 1-65535")
	case dup:
		f.Errorf(es, at+".port", "port "+strconv.Itoa(int(l.Port))+" is also "+other+"'s")
	default:
		ports[l.Port] = "listener " + l.Name + ""
	}
	if l.Pool == "" {
		f.Errorf(es, at+".pool", "no pool: every listener needs one (the default pool with sni routes)")
	} else if f.Pool(l.Pool) == nil {
		f.Errorf(es, at+".pool", "no pool called "+strconv.Quote(l.Pool))
	}
	if l.MaxConns < 0 || l.MaxPerClient < 0 {
		f.Errorf(es, at, "max_conns and max_per_client must be 0 (no limit) or more")
	}
	if l.IdleTimeout < 0 {
		f.Errorf(es, at+".idle_timeout", "idle_timeout must be 0 (none) or positive")
	}
	if l.AcceptProxy && l.ProxyTimeout <= 0 {
		f.Errorf(es, at+".proxy_timeout", "proxy_timeout must be positive")
	}
	if !l.AcceptProxy && len(l.ProxyFrom) > 0 {
		f.Errorf(es, at+".proxy_from", "proxy_from without accept_proxy")
	}
	if (len(l.SNI) > 0 || l.TLS != nil) && (l.HelloTimeout <= 0 || l.MaxHello < 512 || l.MaxHello > 1<<16) {
		f.Errorf(es, at, "hello_timeout must be positive and max_hello 512..65536")
	}
	seen := map[string]bool{}
	for _, r := range l.SNI {
		rat := at + ".sni." + r.Name
		if !validRoute(r.Name) {
			f.Errorf(es, rat, "bad server name "+strconv.Quote(r.Name)+": want a lower-case host name or *.domain")
		}
		if seen[r.Name] {
			f.Errorf(es, rat, "server name "+strconv.Quote(r.Name)+" routed twice")
		}
		seen[r.Name] = true
		if f.Pool(r.Pool) == nil {
			f.Errorf(es, rat, "no pool called "+strconv.Quote(r.Pool))
		}
	}
	if l.TLS != nil && !o.TLS {
		f.Errorf(es, at+".tls", "TLS termination is not built into this image")
	}
	if l.TLS != nil && (len(l.TLS.Cert) == 0 || len(l.TLS.Key) == 0) {
		f.Errorf(es, at+".tls", "tls needs a certificate and a key")
	}
}

func (f *File) checkPool(es *Errors, p *Pool, o Options) {
	at := "pool." + p.Name
	if !validName(p.Name) {
		f.Errorf(es, at, "pool name "+strconv.Quote(p.Name)+": want letters, digits, '-' or '_'")
	}
	if len(p.Upstreams) == 0 {
		f.Errorf(es, at+".upstreams", "no upstream")
	}
	if len(p.Upstreams) > MaxUpstreams {
		f.Errorf(es, at+".upstreams", "more than "+strconv.Itoa(MaxUpstreams)+" upstreams")
	}
	for i, u := range p.Upstreams {
		uat := at + ".upstreams[" + strconv.Itoa(i) + "]"
		if msg := CheckAddr(u.Addr, o.Names); msg != "" {
			f.Errorf(es, uat+".addr", msg)
		}
		if u.Weight < 1 || u.Weight > MaxWeight {
			f.Errorf(es, uat+".weight", "weight must be 1-"+strconv.Itoa(MaxWeight))
		}
	}
	if int(p.Balance) >= len(balanceNames) {
		f.Errorf(es, at+".balance", "balance must be roundrobin, leastconn or source")
	}
	if p.SendProxy < 0 || p.SendProxy > 2 {
		f.Errorf(es, at+".send_proxy", "send_proxy must be v1 or v2")
	}
	if p.ConnectTimeout <= 0 {
		f.Errorf(es, at+".connect_timeout", "connect_timeout must be positive")
	}
	c := p.Check
	switch {
	case c.Interval < 0:
		f.Errorf(es, at+".check.interval", "interval must be 0 (off) or positive")
	case c.Interval > 0 && (c.Rise < 1 || c.Fall < 1 || c.Timeout < 0):
		f.Errorf(es, at+".check", "rise and fall must be 1 or more, timeout 0 (the interval) or positive")
	}
}

// CheckAddr checks an upstream HOST:PORT and returns what is wrong with
// it, or "". Names need a resolver (names).
func CheckAddr(hostport string, names bool) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "bad upstream " + strconv.Quote(hostport) + ": want HOST:PORT"
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return "bad upstream " + strconv.Quote(hostport) + ": port must be 1-65535"
	}
	if host == "" {
		return "bad upstream " + strconv.Quote(hostport) + ": empty host"
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if a.IsUnspecified() || a.IsMulticast() || a.Zone() != "" || a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			return "bad upstream " + strconv.Quote(hostport) + ": not a unicast address"
		}
		return ""
	}
	if !validHost(host) {
		return "bad upstream " + strconv.Quote(hostport) + ": not an IP address (IPv6 in brackets: [2001:db8::1]:80) or a host name"
	}
	if !names {
		return "bad upstream " + strconv.Quote(hostport) + ": names need a DNS resolver, which this build lacks; give IP:PORT"
	}
	return ""
}

// ParsePrefix parses an allow-list entry: an IPv4 or IPv6 CIDR
// (10.0.2.0/24, 2001:db8::/32), a bare address meaning that address alone
// (/32, /128). An IPv4-mapped IPv6 prefix is taken as IPv4. The prefix is
// masked.
func ParsePrefix(s string) (netip.Prefix, error) {
	var p netip.Prefix
	var err error
	if strings.Contains(s, "/") {
		p, err = netip.ParsePrefix(s)
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(s); err == nil {
			p = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err != nil || p.Addr().Zone() != "" {
		return p, errors.New("bad CIDR " + strconv.Quote(s) + ": want an IPv4 or IPv6 CIDR such as 10.0.2.0/24 or 2001:db8::/64")
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return p, errors.New("bad CIDR " + strconv.Quote(s) + ": an IPv4-mapped prefix shorter than /96")
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// validName accepts listener and pool names.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validHost accepts a DNS host name (letters, digits, '-', '_', dots
// between labels of 1..63; a trailing dot allowed).
func validHost(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// validRoute accepts "a.example" and "*.example", lower case.
func validRoute(s string) bool {
	if strings.ToLower(s) != s || strings.HasSuffix(s, ".") {
		return false
	}
	return validHost(strings.TrimPrefix(s, "*."))
}

// SortErrors orders faults by where they are: by file line when known,
// keeping the order found otherwise.
func SortErrors(es Errors) {
	line := func(e *Error) int {
		i := strings.LastIndexByte(e.Where, ':')
		if i < 0 {
			return 0
		}
		n, err := strconv.Atoi(e.Where[i+1:])
		if err != nil {
			return 0
		}
		return n
	}
	// Insertion sort: stable, and the lists are short.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && line(es[j]) < line(es[j-1]); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}
