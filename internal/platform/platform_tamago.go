//go:build tamago

package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mirago/mirago/logging"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/netcfg"
)

// Logger returns the console logger: logging.Console (log/slog's text
// format without times; a board has no wall clock) on os.Stdout, which
// TamaGo writes to the board console through the runtime's Printk (the
// PL011 on qemu-virt, UART2 on the USB armory). Images do not use
// log/slog itself: it would add about 0.4 MB to every image.
func Logger() logging.Logger {
	return logging.NewConsole(os.Stdout, logging.LevelInfo, "board", Board)
}

// Env is the running network of a bare-metal app.
type Env struct {
	// Stack is the stack on the board's network device.
	Stack *stack.Stack
	// Settings are the network settings; with DHCP, Stack.Addr and
	// Stack.Gateway hold the first lease.
	Settings Settings
	// DHCP is the running DHCP client, nil without DHCP.
	DHCP *netcfg.DHCP
	// Log is the console logger Start was given.
	Log logging.Logger
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
		return nil, fmt.Errorf("%s: network device: %w", Board, err)
	}
	cfg := set.Stack
	cfg.Rand = rnd
	s, err := stack.New(dev, cfg)
	if err != nil {
		return nil, err
	}
	e := &Env{Stack: s, Settings: set, Log: log}
	if !set.DHCP {
		log.Info("stack up", "mac", dev.MAC().String(), "mtu", dev.MTU(), "ip", cfg.Addr.String(), "gw", cfg.Gateway.String())
		return e, nil
	}
	log.Info("stack up", "mac", dev.MAC().String(), "mtu", dev.MTU(), "dhcp", true)
	if err := e.startDHCP(rnd); err != nil {
		return nil, err
	}
	return e, nil
}

// dhcpWaitLog is how often startDHCP says it is still waiting.
const dhcpWaitLog = 30 * time.Second

// startDHCP runs the DHCP client (stack/netcfg) and waits for the first
// lease, for as long as it takes: an appliance without an address has
// nothing else to do. The client keeps running, renewing the lease.
func (e *Env) startDHCP(rnd io.Reader) error {
	d, err := netcfg.StartDHCP(e.Stack, netcfg.DHCPConfig{Hostname: "mirago", Rand: rnd, Log: e.Log})
	if err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	e.Log.Info("dhcp: waiting for a lease")
	for {
		ctx, cancel := context.WithTimeout(context.Background(), dhcpWaitLog)
		l, err := d.WaitBound(ctx)
		cancel()
		switch {
		case err == nil:
			e.DHCP = d
			e.Settings.Stack.Addr, e.Settings.Stack.Gateway = l.Addr, l.Router
			e.Log.Info("stack addressed by dhcp", "ip", l.Addr.String(), "gw", l.Router.String(), "server", l.Server.String())
			return nil
		case errors.Is(err, context.DeadlineExceeded):
			e.Log.Warn("dhcp: still no lease", "waited", dhcpWaitLog)
		default:
			return fmt.Errorf("dhcp: %w", err)
		}
	}
}

// Resolver returns a name resolver over the stack that asks the DHCP
// lease's DNS servers, or nil without DHCP: the build has no static DNS
// setting, so names cannot be resolved then.
func (e *Env) Resolver() *netcfg.Resolver {
	if e.DHCP == nil {
		return nil
	}
	return e.DHCP.Resolver()
}

// Fatal logs err and stops the board with status 1 (under QEMU with
// -semihosting, QEMU exits 1; otherwise the board halts).
func Fatal(log logging.Logger, what string, err error) {
	log.Error(what, "err", err)
	Exit(1)
	// Exit returns only if the board could not stop.
	select {}
}
