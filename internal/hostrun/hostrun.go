//go:build !tamago

// Package hostrun implements the host-runner contract shared by the apps
// (shared/DESIGN.md): the common flags, opening the TAP with its optional
// fault injection and pcap middleware, building the stack, and clean
// shutdown on SIGINT/SIGTERM.
package hostrun

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mirago/mirago/drivers/impair"
	"github.com/mirago/mirago/drivers/pcap"
	"github.com/mirago/mirago/drivers/tap"
	"github.com/mirago/mirago/internal/addrlog"
	"github.com/mirago/mirago/internal/buildcfg"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netcfg"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/sntp"
)

// Flags are the host-runner flags common to every app.
type Flags struct {
	TAP string
	IP  string
	GW  string
	// IP6 lists static IPv6 addresses (buildcfg.ParseIP6). NoSLAAC
	// (-slaac=false) forms no address from router advertisements;
	// NoIPv6 (-ipv6=false) builds the stack without IPv6. The zero
	// values are the defaults: IPv6 on, with SLAAC.
	IP6     string
	NoSLAAC bool
	NoIPv6  bool
	MAC     string
	DHCP    bool
	PCAP    string
	Impair  string
	Log     string

	// DHCPTimeout bounds the wait for the first lease with -dhcp.
	DHCPTimeout time.Duration
	// DNS lists name servers (IP or IP:port, comma-separated); empty
	// means the DHCP lease's.
	DNS string
	// NTP lists SNTP servers (sntp.ParseServers: addresses, names, and
	// "dhcp" for the lease's); empty runs no SNTP client.
	NTP string
	// LogNTPTime stamps log lines with the SNTP clock instead of the
	// host's (the host's clock is never changed).
	LogNTPTime bool
}

// Register adds the common flags to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.TAP, "tap", "mirago0", "TAP device to attach to; created if missing (needs CAP_NET_ADMIN)")
	fs.StringVar(&f.IP, "ip", "10.0.2.15/24", "our address and prefix (CIDR)")
	fs.StringVar(&f.GW, "gw", "10.0.2.2", "default gateway (empty: none)")
	fs.StringVar(&f.IP6, "ip6", "", "static IPv6 addresses, ADDR/LEN,... (e.g. 2001:db8::15/64; taken after duplicate address detection)")
	fs.Var((*notBool)(&f.NoSLAAC), "slaac", "form IPv6 addresses from router advertisements (SLAAC, RFC 4862; default true); a link-local address is always formed")
	fs.Var((*notBool)(&f.NoIPv6), "ipv6", "run IPv6 (default true; false: an IPv4-only stack)")
	fs.StringVar(&f.MAC, "mac", "", "our MAC address (default: random, locally administered)")
	fs.BoolVar(&f.DHCP, "dhcp", false, "get the address from DHCP instead of -ip/-gw")
	fs.StringVar(&f.PCAP, "pcap", "", "write every frame sent and received to this pcap file")
	fs.StringVar(&f.Impair, "impair", "", "fault injection on the link, e.g. loss=0.05,reorder=0.05,dup=0.01,corrupt=0.001,delay=5ms,seed=1")
	fs.StringVar(&f.Log, "log", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&f.DHCPTimeout, "dhcp-timeout", 30*time.Second, "with -dhcp, how long to wait for a lease before giving up")
	fs.StringVar(&f.DNS, "dns", "", "DNS servers for name lookups (comma-separated IP or IP:port, IPv4 or IPv6 ([ADDR]:port); default: the DHCP lease's)")
	fs.StringVar(&f.NTP, "ntp", "", "SNTP servers to keep time from (comma-separated HOST or HOST:PORT; dhcp: the lease's); the host's clock is never set")
	fs.BoolVar(&f.LogNTPTime, "log-ntp-time", false, "with -ntp, stamp log lines with the SNTP clock instead of the host's")
}

// notBool is a boolean flag that sets the negation of its variable: a
// flag on by default (-slaac, -ipv6) over a field whose zero value is
// that default (NoSLAAC, NoIPv6).
type notBool bool

func (b *notBool) String() string {
	if b == nil || !*b {
		return "true"
	}
	return "false"
}

func (b *notBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*b = notBool(!v)
	return nil
}

// IsBoolFlag makes -slaac alone mean -slaac=true.
func (b *notBool) IsBoolFlag() bool { return true }

// Env is a running stack on a host device.
type Env struct {
	Stack  *stack.Stack
	Log    *slog.Logger
	Config stack.Config
	// DHCP is the running DHCP client with -dhcp (it holds a lease when
	// Start returns), nil otherwise.
	DHCP *netcfg.DHCP
	// NTP is the SNTP client with -ntp, nil otherwise; Clock is the wall
	// clock it disciplines (the host's own clock is left alone).
	NTP    *sntp.Client
	Clock  *sntp.Clock
	closer []func() error

	dns          []netip.AddrPort // -dns
	ip6Log       func()           // stops logging IPv6 address changes
	resolverOnce sync.Once
	resolver     *netcfg.Resolver
}

// Resolver returns the name resolver of the stack: it queries the -dns
// servers, or else the DHCP lease's DNS servers and those the router
// advertisements name (RDNSS), over our own UDP (and TCP for truncated
// answers), IPv4 or IPv6. Without any, names fail with dns.ErrNoServers
// and IP literals still work. Its Resolve method turns "host:port" into
// an address.
func (e *Env) Resolver() *netcfg.Resolver {
	e.resolverOnce.Do(func() {
		servers := netcfg.StaticServers(e.dns...)
		if len(e.dns) == 0 {
			var lease func() []netip.AddrPort
			if e.DHCP != nil {
				lease = e.DHCP.DNSServers
			}
			servers = netcfg.JoinServers(lease, netcfg.RDNSSServers(e.Stack))
		}
		e.resolver = netcfg.NewResolver(e.Stack, servers)
	})
	return e.resolver
}

// ParseDNS parses a -dns list: comma-separated IPv4 or IPv6 addresses,
// each with an optional port (default 53; an IPv6 address with a port
// in brackets: [2001:db8::53]:53).
func ParseDNS(s string) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ap, err := netip.ParseAddrPort(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("bad -dns %q: want IP addresses, optionally with :port", s)
			}
			ap = netip.AddrPortFrom(a, 53)
		}
		if a := ap.Addr().Unmap(); a.Zone() != "" || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() || ap.Port() == 0 {
			return nil, fmt.Errorf("bad -dns %q: %s is not a unicast address and port", s, f)
		}
		out = append(out, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	}
	return out, nil
}

// ParseLevel parses a -log level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("bad -log %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// StackConfig validates the address flags into a stack configuration.
func (f *Flags) StackConfig() (stack.Config, error) {
	var cfg stack.Config
	addrs6, err := buildcfg.ParseIP6(f.IP6)
	if err != nil {
		return cfg, fmt.Errorf("bad -ip6 %q: %v", f.IP6, err)
	}
	if f.NoIPv6 && len(addrs6) > 0 {
		return cfg, fmt.Errorf("bad -ip6 %q: IPv6 is off (-ipv6=false)", f.IP6)
	}
	cfg.DisableIPv6, cfg.Addrs6, cfg.ND.DisableSLAAC = f.NoIPv6, addrs6, f.NoSLAAC
	if !f.DHCP {
		p, err := inet.ParsePrefix4(f.IP)
		if err != nil {
			return cfg, fmt.Errorf("bad -ip %q: want an IPv4 CIDR such as 10.0.2.15/24", f.IP)
		}
		if p.Bits < 1 || p.Bits > 32 || p.Addr.IsUnspecified() || p.Addr.IsMulticast() || p.Addr.IsBroadcast() || p.Addr.IsLoopback() {
			return cfg, fmt.Errorf("bad -ip %q: not a usable host address", f.IP)
		}
		cfg.Addr = p
		if f.GW != "" {
			gw, err := inet.ParseAddr4(f.GW)
			if err != nil {
				return cfg, fmt.Errorf("bad -gw %q: want an IPv4 address", f.GW)
			}
			if !p.Contains(gw) {
				return cfg, fmt.Errorf("bad -gw %s: not on the subnet of -ip %s", f.GW, f.IP)
			}
			cfg.Gateway = gw
		}
	}
	return cfg, nil
}

// Start validates the flags, opens the device and builds the stack.
func (f *Flags) Start() (*Env, error) {
	level, err := ParseLevel(f.Log)
	if err != nil {
		return nil, err
	}
	log, logClock := newLogger(os.Stderr, level, f.LogNTPTime)
	cfg, err := f.StackConfig()
	if err != nil {
		return nil, err
	}
	ntpServers, ntpLease, err := sntp.ParseServers(f.NTP)
	if err != nil {
		return nil, fmt.Errorf("bad -ntp: %v", err)
	}
	if ntpLease && !f.DHCP {
		return nil, fmt.Errorf("bad -ntp %q: %s (the lease's servers) needs -dhcp", f.NTP, sntp.LeaseServers)
	}
	if f.LogNTPTime && f.NTP == "" {
		return nil, errors.New("bad -log-ntp-time: needs -ntp")
	}
	dnsServers, err := ParseDNS(f.DNS)
	if err != nil {
		return nil, err
	}
	if f.DHCP && f.DHCPTimeout <= 0 {
		return nil, fmt.Errorf("bad -dhcp-timeout %v: want a positive duration", f.DHCPTimeout)
	}
	var opts tap.Options
	if f.MAC != "" {
		m, err := inet.ParseMAC(f.MAC)
		if err != nil {
			return nil, fmt.Errorf("bad -mac %q: %v", f.MAC, err)
		}
		if m.IsMulticast() || m.IsZero() {
			return nil, fmt.Errorf("bad -mac %q: not a unicast address", f.MAC)
		}
		opts.MAC = m
	}
	var spec impair.Spec
	if f.Impair != "" {
		if spec, err = impair.ParseSpec(f.Impair); err != nil {
			return nil, fmt.Errorf("bad -impair: %v", err)
		}
	}
	if f.TAP == "" {
		return nil, errors.New("bad -tap: empty device name")
	}
	opts.BringUp = true
	t, err := tap.Open(f.TAP, opts)
	if err != nil {
		return nil, fmt.Errorf("tap %s: %v", f.TAP, err)
	}
	env := &Env{Log: log, Config: cfg, dns: dnsServers}
	// pcap sits next to the TAP so the capture shows the wire, after the
	// fault injector has had its way in both directions.
	var dev netif.Device = t
	if f.PCAP != "" {
		w, err := pcap.Create(f.PCAP, pcap.Options{})
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("pcap %s: %v", f.PCAP, err)
		}
		dev = pcap.Wrap(dev, w, clock.Real{})
		env.closer = append(env.closer, w.Close)
	}
	if f.Impair != "" {
		dev = impair.Wrap(dev, spec, clock.Real{})
	}
	s, err := stack.New(dev, cfg)
	if err != nil {
		dev.Close()
		return nil, err
	}
	env.Stack = s
	if f.DHCP {
		log.Info("stack up", "tap", f.TAP, "mac", dev.MAC().String(), "ip", "dhcp")
		if err := env.startDHCP(f.TAP, f.DHCPTimeout); err != nil {
			env.Close()
			return nil, err
		}
	} else {
		log.Info("stack up", "tap", f.TAP, "mac", dev.MAC().String(), "ip", cfg.Addr.String(), "gw", cfg.Gateway.String())
	}
	if !f.NoIPv6 {
		log.Info("ipv6 up", "ip6", f.IP6, "slaac", !f.NoSLAAC)
		ctx, cancel := context.WithCancel(context.Background())
		env.ip6Log = cancel
		go addrlog.Run(ctx, s, log)
	}
	if len(ntpServers) > 0 || ntpLease {
		if err := env.startNTP(ntpServers, ntpLease); err != nil {
			env.Close()
			return nil, err
		}
		logClock.Store(env.Clock)
	}
	return env, nil
}

// newLogger returns the runner's logger (log/slog text on w). With
// ntpTime, once a clock is stored in the returned pointer, each record's
// time is that clock's instead of the host's.
func newLogger(w io.Writer, level slog.Level, ntpTime bool) (*slog.Logger, *atomic.Pointer[sntp.Clock]) {
	clk := new(atomic.Pointer[sntp.Clock])
	opts := &slog.HandlerOptions{Level: level}
	if ntpTime {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if c := clk.Load(); c != nil && a.Key == slog.TimeKey && len(groups) == 0 {
				a.Value = slog.TimeValue(c.Now())
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts)), clk
}

// startNTP runs the SNTP client on the stack (stack/sntp): it disciplines
// env.Clock, a software wall clock; the host's clock is never touched.
// It does not wait for the first sync.
func (e *Env) startNTP(servers []string, lease bool) error {
	var leaseServers func() []netip.AddrPort
	if lease {
		leaseServers = e.DHCP.NTPServers
	}
	clk := e.Stack.Timers().Clock()
	e.Clock = sntp.NewClock(clk)
	c, err := sntp.StartUDP(e.Stack.UDP(), sntp.Config{
		Servers: sntp.Servers(servers, e.Resolver().Resolve, leaseServers),
		Clock:   clk, Rand: e.Stack.Rand(), Target: e.Clock, Log: e.Log,
	})
	if err != nil {
		return fmt.Errorf("ntp: %v", err)
	}
	e.NTP = c
	e.Log.Info("ntp: client started", "servers", servers, "lease", lease)
	return nil
}

// startDHCP runs the DHCP client and waits up to timeout (or a signal) for
// the first lease.
func (e *Env) startDHCP(tapName string, timeout time.Duration) error {
	d, err := netcfg.StartDHCP(e.Stack, netcfg.DHCPConfig{Log: e.Log})
	if err != nil {
		return fmt.Errorf("dhcp: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	e.Log.Info("dhcp: waiting for a lease", "timeout", timeout)
	l, err := d.WaitBound(ctx)
	if err != nil {
		d.Stop()
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("dhcp: no lease on %s within %v (is a DHCP server on the link?)", tapName, timeout)
		}
		return fmt.Errorf("dhcp: no lease on %s: %v", tapName, err)
	}
	e.DHCP = d
	e.Config.Addr, e.Config.Gateway = l.Addr, l.Router
	e.Log.Info("stack addressed by dhcp", "ip", l.Addr.String(), "gw", l.Router.String(), "dns", fmt.Sprint(l.DNS), "server", l.Server.String())
	return nil
}

// Close shuts the stack and the middleware down.
func (e *Env) Close() error {
	if e.ip6Log != nil {
		e.ip6Log()
		e.ip6Log = nil
	}
	if e.NTP != nil {
		e.NTP.Stop()
	}
	if e.DHCP != nil {
		e.DHCP.Stop() // DHCPRELEASE while the device is still open
	}
	err := e.Stack.Close()
	for _, c := range e.closer {
		if cerr := c(); err == nil {
			err = cerr
		}
	}
	return err
}

// SignalContext returns a context cancelled on SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// Fatal prints a one-line reason and exits 1 (the contract for bad flags
// or an unusable device).
func Fatal(app string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", app, err)
	os.Exit(1)
}
