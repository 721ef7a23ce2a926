// Package config is the proxy appliance's configuration: listeners, each
// with its own upstream pool (or pools, chosen by TLS server name), the
// pools' upstreams, balancing and health checks, and the metrics
// endpoint. The same File comes from a TOML file on the host
// (app/proxy/conffile), from the flags for one listener, or is linked
// into a bare-metal image at build time (app/proxy/cmd/proxyconf turns the
// TOML file into Go source), so the image carries no TOML parser.
//
// Validate checks a File and returns every error found, each with the
// position (line) of the setting at fault when the File came from a file.
package config

import (
	"net/netip"
	"strconv"
	"time"
)

// File is the whole configuration.
type File struct {
	// Grace is how long open connections may go on after shutdown
	// starts, or after a reload removes their listener.
	Grace time.Duration
	// Listeners are the ports we accept clients on.
	Listeners []Listener
	// Pools are the named groups of upstreams.
	Pools []Pool
	// Metrics, if Port is not 0, is the Prometheus endpoint.
	Metrics Metrics
	// Where maps a setting's path (e.g. "listener.web.port") to where it
	// was given: "proxy.toml:12" for a file, "-listen" for a flag. Errors
	// name it; a path without an entry is named by its parent's.
	Where map[string]string
}

// Listener is one port and what to do with its clients.
type Listener struct {
	// Name identifies the listener in logs, metrics and reloads.
	Name string
	// Port is the TCP port.
	Port uint16
	// Pool is the pool clients go to (the default pool when SNI routes
	// are set).
	Pool string
	// Allow lists the client networks allowed; empty means our own
	// subnet. With AcceptProxy it applies to the client address the
	// PROXY header carries.
	Allow []netip.Prefix
	// MaxConns bounds the connections at once (0: no limit).
	MaxConns int
	// MaxPerClient bounds the connections per client address (0: none).
	MaxPerClient int
	// IdleTimeout closes a connection with no byte moved either way for
	// that long (0: never).
	IdleTimeout time.Duration

	// AcceptProxy makes every connection start with a PROXY header (v1
	// or v2), which names the client.
	AcceptProxy bool
	// ProxyFrom lists the networks a PROXY header is taken from; other
	// sources are refused when they connect. Empty means our own subnet.
	ProxyFrom []netip.Prefix
	// ProxyTimeout bounds the wait for the whole PROXY header.
	ProxyTimeout time.Duration

	// SNI routes TLS connections by server name, read from the
	// ClientHello without terminating TLS; unmatched names, and clients
	// that send none, go to Pool.
	SNI []Route
	// HelloTimeout bounds the wait for the whole ClientHello (SNI routing
	// and TLS termination).
	HelloTimeout time.Duration
	// MaxHello bounds the ClientHello's size in bytes.
	MaxHello int

	// TLS, if set, terminates TLS: clients speak TLS to us and the pool
	// gets plaintext. SNI routes then use the handshake's server name.
	TLS *TLS
}

// Route sends one server name, or a domain's names, to a pool.
type Route struct {
	// Name is a host name ("a.example") or a wildcard for the names under
	// a domain ("*.example"), in lower case.
	Name string
	// Pool is the pool's name.
	Pool string
}

// TLS is a certificate and its key, PEM encoded.
type TLS struct {
	// CertFile and KeyFile are where they were read from (host files).
	CertFile, KeyFile string
	// Cert and Key are the PEM contents.
	Cert, Key []byte
}

// Balance is how a pool picks an upstream for a new connection.
type Balance uint8

const (
	// RoundRobin takes the healthy upstreams in turn, in proportion to
	// their weights (smooth weighted round robin).
	RoundRobin Balance = iota
	// LeastConn takes the healthy upstream with the fewest connections
	// for its weight.
	LeastConn
	// Source hashes the client's address, so that a client keeps its
	// upstream while that upstream is healthy (weighted rendezvous
	// hashing: only the clients of an upstream that goes down move).
	Source
)

var balanceNames = [...]string{"roundrobin", "leastconn", "source"}

// String returns the name used in files and flags.
func (b Balance) String() string {
	if int(b) < len(balanceNames) {
		return balanceNames[b]
	}
	return "balance(" + strconv.Itoa(int(b)) + ")"
}

// ParseBalance parses "roundrobin", "leastconn" or "source".
func ParseBalance(s string) (Balance, bool) {
	for i, n := range balanceNames {
		if s == n {
			return Balance(i), true
		}
	}
	return 0, false
}

// Pool is a named group of upstreams.
type Pool struct {
	// Name identifies the pool.
	Name string
	// Balance is the balancing policy.
	Balance Balance
	// Upstreams are the servers.
	Upstreams []Upstream
	// SendProxy, 1 or 2, sends a PROXY header of that version to each
	// upstream connection; 0 sends none.
	SendProxy int
	// ConnectTimeout bounds connecting a client to an upstream, retries
	// on the next healthy upstreams included.
	ConnectTimeout time.Duration
	// Check is the active health check.
	Check Check
}

// Upstream is one server of a pool.
type Upstream struct {
	// Addr is IP:PORT, or NAME:PORT resolved for each connection.
	Addr string
	// Weight is the upstream's share of connections (1..256).
	Weight int
}

// Check is a TCP-connect health check, as HAProxy's `check inter rise
// fall`.
type Check struct {
	// Interval between checks of one upstream; 0 turns checks off (every
	// upstream counts as healthy).
	Interval time.Duration
	// Timeout bounds one check; 0 means Interval.
	Timeout time.Duration
	// Rise is how many checks in a row must pass for a down upstream to
	// come up.
	Rise int
	// Fall is how many checks in a row must fail for an up upstream to go
	// down.
	Fall int
}

// Metrics is the Prometheus endpoint.
type Metrics struct {
	// Port is its TCP port on our stack (0: off).
	Port uint16
	// Allow lists the networks that may scrape it; empty means our own
	// subnet.
	Allow []netip.Prefix
}

// Defaults of the settings a file or the flags leave out (NewListener,
// NewPool).
const (
	DefaultMaxConns       = 256
	DefaultMaxPerClient   = 32
	DefaultConnectTimeout = 10 * time.Second
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultGrace          = 5 * time.Second
	DefaultProxyTimeout   = 5 * time.Second
	DefaultHelloTimeout   = 5 * time.Second
	DefaultMaxHello       = 16 << 10
	DefaultRise           = 2
	DefaultFall           = 3
	DefaultWeight         = 1
	MaxWeight             = 256
	MaxUpstreams          = 64 // per pool
)

// NewListener returns a listener with the default settings.
func NewListener(name string, port uint16, pool string) Listener {
	return Listener{
		Name: name, Port: port, Pool: pool,
		MaxConns: DefaultMaxConns, MaxPerClient: DefaultMaxPerClient, IdleTimeout: DefaultIdleTimeout,
		ProxyTimeout: DefaultProxyTimeout, HelloTimeout: DefaultHelloTimeout, MaxHello: DefaultMaxHello,
	}
}

// NewPool returns a pool with the default settings and no upstreams.
func NewPool(name string) Pool {
	return Pool{Name: name, ConnectTimeout: DefaultConnectTimeout, Check: Check{Rise: DefaultRise, Fall: DefaultFall}}
}

// Pool returns the pool called name, or nil.
func (f *File) Pool(name string) *Pool {
	for i := range f.Pools {
		if f.Pools[i].Name == name {
			return &f.Pools[i]
		}
	}
	return nil
}

// Listener returns the listener called name, or nil.
func (f *File) Listener(name string) *Listener {
	for i := range f.Listeners {
		if f.Listeners[i].Name == name {
			return &f.Listeners[i]
		}
	}
	return nil
}

// UsesTLS reports whether a listener terminates TLS (the image then needs
// crypto/tls).
func (f *File) UsesTLS() bool {
	for _, l := range f.Listeners {
		if l.TLS != nil {
			return true
		}
	}
	return false
}
