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
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mirago/mirago/drivers/impair"
	"github.com/mirago/mirago/drivers/pcap"
	"github.com/mirago/mirago/drivers/tap"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/netif"
)

// Flags are the host-runner flags common to every app.
type Flags struct {
	TAP    string
	IP     string
	GW     string
	MAC    string
	DHCP   bool
	PCAP   string
	Impair string
	Log    string
}

// Register adds the common flags to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.TAP, "tap", "mirago0", "TAP device to attach to; created if missing (needs CAP_NET_ADMIN)")
	fs.StringVar(&f.IP, "ip", "10.0.2.15/24", "our address and prefix (CIDR)")
	fs.StringVar(&f.GW, "gw", "10.0.2.2", "default gateway (empty: none)")
	fs.StringVar(&f.MAC, "mac", "", "our MAC address (default: random, locally administered)")
	fs.BoolVar(&f.DHCP, "dhcp", false, "get the address from DHCP instead of -ip/-gw")
	fs.StringVar(&f.PCAP, "pcap", "", "write every frame sent and received to this pcap file")
	fs.StringVar(&f.Impair, "impair", "", "fault injection on the link, e.g. loss=0.05,reorder=0.05,dup=0.01,corrupt=0.001,delay=5ms,seed=1")
	fs.StringVar(&f.Log, "log", "info", "log level: debug, info, warn or error")
}

// Env is a running stack on a host device.
type Env struct {
	Stack  *stack.Stack
	Log    *slog.Logger
	Config stack.Config
	closer []func() error
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
	if !f.DHCP {
		p, err := ipv4.ParsePrefix(f.IP)
		if err != nil {
			return cfg, fmt.Errorf("bad -ip %q: want an IPv4 CIDR such as 10.0.2.15/24", f.IP)
		}
		if p.Bits < 1 || p.Bits > 32 || p.Addr.IsUnspecified() || p.Addr.IsMulticast() || p.Addr.IsBroadcast() || p.Addr.IsLoopback() {
			return cfg, fmt.Errorf("bad -ip %q: not a usable host address", f.IP)
		}
		cfg.Addr = p
		if f.GW != "" {
			gw, err := ipv4.ParseAddr(f.GW)
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
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := f.StackConfig()
	if err != nil {
		return nil, err
	}
	var opts tap.Options
	if f.MAC != "" {
		m, err := netif.ParseMAC(f.MAC)
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
	env := &Env{Log: log, Config: cfg}
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
	log.Info("stack up", "tap", f.TAP, "mac", dev.MAC().String(), "ip", cfg.Addr.String(), "gw", cfg.Gateway.String())
	return env, nil
}

// Close shuts the stack and the middleware down.
func (e *Env) Close() error {
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
