//go:build !tamago

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/mirago/mirago/internal/hostrun"
)

func main() {
	var hf hostrun.Flags
	// Name:port upstreams resolve through our stack (hostrun's resolver:
	// -dns servers or the DHCP lease's). dnsEnv is set before Run.
	var dnsEnv *hostrun.Env
	upstreamResolver = func(ctx context.Context, hostport string) (netip.AddrPort, error) {
		return dnsEnv.Resolver().Resolve(ctx, hostport)
	}
	cfg, err := parseFlags(&hf, os.Args[1:], os.Stderr)
	if err == flag.ErrHelp {
		os.Exit(0)
	}
	if err != nil {
		hostrun.Fatal("proxy", err)
	}
	env, err := hf.Start()
	if err != nil {
		hostrun.Fatal("proxy", err)
	}
	dnsEnv = env
	cfg.Log = env.Log
	ctx, cancel := hostrun.SignalContext()
	defer cancel()
	if err := Run(ctx, env.Stack, cfg); err != nil {
		env.Close()
		hostrun.Fatal("proxy", err)
	}
	env.Log.Info("shutting down")
	if err := env.Close(); err != nil {
		env.Log.Warn("close", "err", err)
	}
}

// parseFlags parses the host flags (common ones into hf) into a validated
// Config. Usage errors are printed to usage.
func parseFlags(hf *hostrun.Flags, args []string, usage io.Writer) (Config, error) {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	// Errors make one line (printed by the caller); -help the usage.
	fs.SetOutput(io.Discard)
	hf.Register(fs)
	listen := fs.String("listen", "", "TCP port to accept clients on (required)")
	upstream := fs.String("upstream", "", "upstream HOST:PORT to connect each client to (required)")
	allow := fs.String("allow", "", "comma-separated client CIDRs allowed (default: our own subnet only)")
	maxConns := fs.Int("max-conns", DefaultMaxConns, "connections proxied at once (0: no limit); more are reset")
	maxPer := fs.Int("max-per-client", DefaultMaxPerClient, "connections per client address (0: no limit); more are reset")
	connTO := fs.Duration("connect-timeout", DefaultConnectTimeout, "time to resolve and connect to the upstream")
	idleTO := fs.Duration("idle-timeout", DefaultIdleTimeout, "close a connection idle both ways this long (0: never)")
	grace := fs.Duration("grace", DefaultGrace, "on SIGINT/SIGTERM, how long open connections may finish")
	metricsPort := fs.String("metrics", "", "TCP port of the Prometheus metrics endpoint on our stack (default: off)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(usage)
			fmt.Fprintln(usage, "usage: proxy [flags] -listen PORT -upstream HOST:PORT [-allow CIDR,...]")
			fs.PrintDefaults()
			return Config{}, err
		}
		return Config{}, fmt.Errorf("%v (see -help)", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *listen == "" {
		return Config{}, fmt.Errorf("missing -listen PORT")
	}
	lp, err := parsePort("-listen", *listen)
	if err != nil {
		return Config{}, err
	}
	var mp uint16
	if *metricsPort != "" {
		if mp, err = parsePort("-metrics", *metricsPort); err != nil {
			return Config{}, err
		}
	}
	acl, err := ParseAllow(*allow)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{
		Listen: lp, Upstream: *upstream, Allow: acl, MaxConns: *maxConns, MaxPerClient: *maxPer,
		ConnectTimeout: *connTO, IdleTimeout: *idleTO, Grace: *grace, Metrics: mp,
	}
	return cfg, cfg.Validate()
}
