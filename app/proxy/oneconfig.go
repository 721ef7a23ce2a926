package main

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/mirago/mirago/app/proxy/config"
)

// Config is the appliance with one listener, as the flags give it (and
// an image's PORT, UPSTREAM and ALLOW settings): File turns it into the
// full configuration.
type Config struct {
	// Listen is the TCP port we accept clients on.
	Listen uint16
	// Upstream lists the pool's upstreams, HOST:PORT separated by commas;
	// names need a resolver.
	Upstream string
	// Balance is roundrobin (default), leastconn or source.
	Balance string
	// Check is the health check interval; 0 turns checks off.
	Check time.Duration
	// SendProxy is "", "v1" or "v2".
	SendProxy string
	// AcceptProxy makes clients start with a PROXY header, taken only
	// from ProxyFrom (default: our own subnet).
	AcceptProxy bool
	ProxyFrom   []netip.Prefix
	// Allow lists the client networks allowed; empty means our own
	// subnet.
	Allow []netip.Prefix
	// MaxConns and MaxPerClient bound the connections (0: no limit).
	MaxConns, MaxPerClient int
	// ConnectTimeout bounds connecting to an upstream, retries included.
	ConnectTimeout time.Duration
	// IdleTimeout closes idle connections (0: never).
	IdleTimeout time.Duration
	// Grace is how long connections may finish on shutdown.
	Grace time.Duration
	// Metrics, if not 0, is the port of the Prometheus endpoint, open to
	// MetricsAllow (default: our own subnet).
	Metrics      uint16
	MetricsAllow []netip.Prefix
}

// DefaultConfig returns a Config with the defaults of the flags.
func DefaultConfig() Config {
	return Config{MaxConns: config.DefaultMaxConns, MaxPerClient: config.DefaultMaxPerClient,
		ConnectTimeout: config.DefaultConnectTimeout, IdleTimeout: config.DefaultIdleTimeout, Grace: config.DefaultGrace}
}

// File returns the configuration of c: listener "main" on c.Listen, pool
// "main" of c.Upstream. Faults in it are named by their flags (-listen,
// -upstream, ...) when validated.
func (c Config) File() (*config.File, error) {
	l := config.NewListener("main", c.Listen, "main")
	l.Allow, l.MaxConns, l.MaxPerClient, l.IdleTimeout = c.Allow, c.MaxConns, c.MaxPerClient, c.IdleTimeout
	l.AcceptProxy, l.ProxyFrom = c.AcceptProxy, c.ProxyFrom
	p := config.NewPool("main")
	p.ConnectTimeout = c.ConnectTimeout
	where := map[string]string{
		"listener.main": "-listen", "listener.main.pool": "-upstream", "listener.main.idle_timeout": "-idle-timeout",
		"pool.main": "-upstream", "pool.main.connect_timeout": "-connect-timeout", "pool.main.check": "-check",
		"pool.main.check.interval": "-check", "pool.main.balance": "-balance", "pool.main.send_proxy": "-send-proxy",
		"grace": "-grace", "metrics.port": "-metrics",
	}
	if c.Upstream == "" {
		return nil, fmt.Errorf("missing -upstream HOST:PORT[,HOST:PORT...]")
	}
	for i, u := range strings.Split(c.Upstream, ",") {
		p.Upstreams = append(p.Upstreams, config.Upstream{Addr: strings.TrimSpace(u), Weight: config.DefaultWeight})
		where[fmt.Sprintf("pool.main.upstreams[%d]", i)] = "-upstream"
	}
	if c.Balance != "" {
		b, ok := config.ParseBalance(c.Balance)
		if !ok {
			return nil, fmt.Errorf("bad -balance %q: want roundrobin, leastconn or source", c.Balance)
		}
		p.Balance = b
	}
	switch c.SendProxy {
	case "":
	case "v1":
		p.SendProxy = 1
	case "v2":
		p.SendProxy = 2
	default:
		return nil, fmt.Errorf("bad -send-proxy %q: want v1 or v2", c.SendProxy)
	}
	p.Check.Interval = c.Check
	return &config.File{Grace: c.Grace, Listeners: []config.Listener{l}, Pools: []config.Pool{p},
		Metrics: config.Metrics{Port: c.Metrics, Allow: c.MetricsAllow}, Where: where}, nil
}
