//go:build tamago

package boardrun

import (
	"context"
	"net/netip"
	"os"
	"time"

	"github.com/mirago/mirago/internal/buildcfg"
	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/logging"
	"github.com/mirago/mirago/stack"
)

// Logger returns the console logger, at the level of buildcfg.LOG (make
// image LOG=debug; info by default): logging.Console (log/slog's text
// format without times; a board has no wall clock) on os.Stdout, which
// TamaGo writes to the board console through the runtime's Printk (the
// PL011 on qemu-virt, UART2 on the USB armory). Images do not use
// log/slog itself: it would add about 0.4 MB to every image.
func Logger() logging.Logger {
	level, ok := ParseLevel(buildcfg.LOG)
	log := logging.NewConsole(os.Stdout, level, "board", Board)
	if !ok {
		log.Warn("bad LOG setting: want debug, info, warn or error; logging at info", "LOG", buildcfg.LOG)
	}
	return log
}

// Env is the running network of a bare-metal app.
type Env struct {
	// Stack is the stack on the board's network device.
	Stack *stack.Stack
	// Settings are the network settings; with DHCP, Stack.Addr and
	// Stack.Gateway hold the first lease.
	Settings Settings
	// Resolve resolves HOST:PORT through the DHCP lease's DNS servers,
	// over the stack; nil without DHCP (the build has no static DNS
	// setting).
	Resolve func(ctx context.Context, hostport string) (netip.AddrPort, error)
	// Resolver is the resolver behind Resolve (a *netcfg.Resolver, whose
	// package only DHCP images link); nil without it.
	Resolver Resolver
	// Log is the console logger Start was given.
	Log logging.Logger

	// NTPMetrics returns the SNTP client's metrics (sntp.Metrics) and
	// NTPGauges names their gauges; nil in images without NTP.
	NTPMetrics func() any
	NTPGauges  map[string]bool

	// Set by startDHCP for startNTP: the lease's NTP servers, and the
	// DHCP client's hook for a clock step.
	ntpLease     func() []netip.AddrPort
	clockStepped func(time.Duration)
}

// Resolver looks names up: netcfg.Resolver's methods.
type Resolver interface {
	LookupA(ctx context.Context, name string) ([]netip.Addr, error)
	LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error)
	Resolve(ctx context.Context, hostport string) (netip.AddrPort, error)
}

// Start loads the network settings, opens the board's network device and
// builds the stack on it, seeded from the board's entropy source. With
// DHCP it returns once the first lease is applied.
func Start(log logging.Logger) (*Env, error) {
	set, err := Load()
	if err != nil {
		return nil, err
	}
	dev, rnd, err := Open()
	if err != nil {
		return nil, xerr.Wrap(Board+": network device", err)
	}
	defer logBoot(log)
	cfg := set.Stack
	cfg.Rand = rnd
	Limits(&cfg, HeapRoom())
	log.Debug("stack limits", "heap_room_kib", HeapRoom()>>10, "tcp_memory_kib", cfg.TCP.MaxMemory>>10,
		"tcp_buffer_kib", cfg.TCP.SendBuffer>>10, "time_wait", cfg.TCP.MaxTimeWait, "half_open", cfg.TCP.MaxHalfOpen,
		"udp_buffer_kib", cfg.UDP.RecvBuffer>>10, "reasm_kib", cfg.IPv4.ReasmMemory>>10, "arp_cache", cfg.ARP.CacheSize)
	s, err := stack.New(dev, cfg)
	if err != nil {
		return nil, err
	}
	mark("stack")
	e := &Env{Stack: s, Settings: set, Log: log}
	if !set.DHCP {
		log.Info("stack up", "mac", dev.MAC().String(), "mtu", dev.MTU(), "ip", cfg.Addr.String(), "gw", cfg.Gateway.String())
		e.startIPv6()
		if err := e.startNTP(rnd); err != nil {
			return nil, err
		}
		return e, nil
	}
	log.Info("stack up", "mac", dev.MAC().String(), "mtu", dev.MTU(), "dhcp", true)
	e.startIPv6()
	if err := e.startDHCP(rnd); err != nil {
		return nil, err
	}
	if err := e.startNTP(rnd); err != nil {
		return nil, err
	}
	return e, nil
}

// Fatal logs err and stops the board with status 1 (under QEMU with
// -semihosting, QEMU exits 1; otherwise the board halts).
func Fatal(log logging.Logger, what string, err error) {
	log.Error(what, "err", err)
	Exit(1)
	// Exit returns only if the board could not stop.
	select {}
}

// mark records that a step of Start has just finished, after the
// board's own phases.
func mark(name string) {
	phases = append(phases, Phase{Name: name, At: Uptime()})
}

var phases []Phase

// logBoot logs each boot phase at debug level: the board's (BootPhases),
// then Start's, each with its time since reset and its own duration.
func logBoot(log logging.Logger) {
	all := append(BootPhases(), phases...)
	prev := time.Duration(0)
	for _, p := range all {
		log.Debug("boot phase", "phase", p.Name, "at", p.At.Round(10*time.Microsecond), "took", (p.At - prev).Round(10*time.Microsecond))
		prev = p.At
	}
}
