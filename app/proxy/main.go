//go:build !tamago

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/mirago/mirago/app/proxy/conffile"
	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/internal/hostrun"
	"github.com/mirago/mirago/stack/inet"
)

func main() {
	var hf hostrun.Flags
	a, err := parseFlags(&hf, os.Args[1:], os.Stderr)
	if err == flag.ErrHelp {
		os.Exit(0)
	}
	if err != nil {
		hostrun.Fatal("proxy", err)
	}
	if a.checkOnly {
		// -check-config: every fault, one per line, then exit 1.
		f, err := conffile.Load(a.path, hostOptions)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%s: ok: %d listeners, %d pools\n", a.path, len(f.Listeners), len(f.Pools))
		return
	}
	env, err := hf.Start()
	if err != nil {
		hostrun.Fatal("proxy", err)
	}
	// Name:port upstreams resolve through our stack (-dns servers or the
	// DHCP lease's, and the router advertisements' RDNSS servers).
	ap, err := New(env.Stack, a.file, Options{Log: env.Log, Resolver: env.Resolver(), Families: env.Stack.Reachable})
	if err == nil {
		err = ap.Start()
	}
	if err != nil {
		env.Close()
		hostrun.Fatal("proxy", err)
	}
	ctx, cancel := hostrun.SignalContext()
	defer cancel()
	stopReload := reloadOnHUP(ap, a.path, env.Log)
	stopProfile := profile(a.cpuProfile, env.Log)
	ap.Serve(ctx)
	stopProfile()
	stopReload()
	env.Log.Info("shutting down")
	if err := env.Close(); err != nil {
		env.Log.Warn("close", "err", err)
	}
}

// hostOptions: the host has a resolver, metrics and TLS.
var hostOptions = config.Options{Names: true, Metrics: true, TLS: true}

// reloadOnHUP rereads the configuration file on SIGHUP and reloads it; a
// file with faults is refused (each fault logged) and the running
// configuration kept.
func reloadOnHUP(a *Appliance, path string, log interface {
	Info(string, ...any)
	Error(string, ...any)
}) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-hup:
			}
			if path == "" {
				log.Error("proxy reload refused: no -config file to reread")
				continue
			}
			f, err := conffile.Load(path, hostOptions)
			if err == nil {
				err = a.Reload(f)
			}
			if err != nil {
				var es config.Errors
				if errors.As(err, &es) {
					for _, e := range es {
						log.Error("proxy reload refused", "err", e.Error())
					}
				} else {
					log.Error("proxy reload refused", "err", err)
				}
				log.Info("proxy configuration kept")
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		<-finished
	}
}

// args are the parsed flags.
type args struct {
	file       *config.File
	path       string // -config
	checkOnly  bool   // -check-config
	cpuProfile string // -cpuprofile
}

// parseFlags parses the host flags (common ones into hf): either -config
// FILE, or the one-listener flags. Usage errors are printed to usage.
func parseFlags(hf *hostrun.Flags, args_ []string, usage io.Writer) (args, error) {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	// Errors make one line (printed by the caller); -help the usage.
	fs.SetOutput(io.Discard)
	hf.Register(fs)
	d := DefaultConfig()
	path := fs.String("config", "", "configuration file (TOML; see app/proxy/README.md); SIGHUP rereads it")
	check := fs.Bool("check-config", false, "check the -config file, print every fault with its line, and exit")
	listen := fs.String("listen", "", "TCP port to accept clients on (one-listener flags)")
	upstream := fs.String("upstream", "", "upstreams HOST:PORT,HOST:PORT,... (IP or name)")
	balance := fs.String("balance", "roundrobin", "roundrobin, leastconn or source")
	check_ := fs.Duration("check", 0, "health check interval, TCP connect (0: no checks)")
	sendProxy := fs.String("send-proxy", "", "send a PROXY header to upstreams: v1 or v2")
	acceptProxy := fs.Bool("accept-proxy", false, "clients start with a PROXY header (v1 or v2), taken from -proxy-from only")
	proxyFrom := fs.String("proxy-from", "", "with -accept-proxy: CIDRs of the proxies allowed (default: our own subnet)")
	allow := fs.String("allow", "", "comma-separated client CIDRs allowed (default: our own subnet only)")
	maxConns := fs.Int("max-conns", d.MaxConns, "connections proxied at once (0: no limit); more are reset")
	maxPer := fs.Int("max-per-client", d.MaxPerClient, "connections per client address (0: no limit); more are reset")
	connTO := fs.Duration("connect-timeout", d.ConnectTimeout, "time to connect to an upstream, retries on the next ones included")
	idleTO := fs.Duration("idle-timeout", d.IdleTimeout, "close a connection idle both ways this long (0: never)")
	grace := fs.Duration("grace", d.Grace, "on SIGINT/SIGTERM, how long open connections may finish")
	metricsPort := fs.String("metrics", "", "TCP port of the Prometheus metrics endpoint on our stack (default: off)")
	metricsAllow := fs.String("metrics-allow", "", "CIDRs allowed to scrape the metrics (default: our own subnet)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (runtime/pprof) to this file until exit")
	if err := fs.Parse(args_); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(usage)
			fmt.Fprintln(usage, "usage: proxy [flags] -config FILE")
			fmt.Fprintln(usage, "       proxy [flags] -listen PORT -upstream HOST:PORT[,HOST:PORT...] [-allow CIDR,...]")
			fs.PrintDefaults()
			return args{}, err
		}
		return args{}, fmt.Errorf("%v (see -help)", err)
	}
	if fs.NArg() > 0 {
		return args{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *path != "" || *check {
		if *path == "" {
			return args{}, errors.New("-check-config needs -config FILE")
		}
		for _, n := range []string{"listen", "upstream", "balance", "check", "send-proxy", "accept-proxy", "proxy-from",
			"allow", "max-conns", "max-per-client", "connect-timeout", "idle-timeout", "grace", "metrics", "metrics-allow"} {
			if set[n] {
				return args{}, fmt.Errorf("-%s with -config: set it in the file", n)
			}
		}
		if *check {
			return args{path: *path, checkOnly: true}, nil
		}
		f, err := conffile.Load(*path, hostOptions)
		return args{file: f, path: *path, cpuProfile: *cpuProfile}, err
	}
	if *listen == "" {
		return args{}, errors.New("missing -listen PORT (or -config FILE)")
	}
	c := Config{Upstream: *upstream, Balance: *balance, Check: *check_, SendProxy: *sendProxy, AcceptProxy: *acceptProxy,
		MaxConns: *maxConns, MaxPerClient: *maxPer, ConnectTimeout: *connTO, IdleTimeout: *idleTO, Grace: *grace}
	var err error
	if c.Listen, err = inet.ParsePort("-listen", *listen); err != nil {
		return args{}, err
	}
	if *metricsPort != "" {
		if c.Metrics, err = inet.ParsePort("-metrics", *metricsPort); err != nil {
			return args{}, err
		}
	}
	for _, l := range []struct {
		name string
		s    string
		dst  *[]netip.Prefix
	}{{"-allow", *allow, &c.Allow}, {"-proxy-from", *proxyFrom, &c.ProxyFrom}, {"-metrics-allow", *metricsAllow, &c.MetricsAllow}} {
		if *l.dst, err = ParseAllow(l.name, l.s); err != nil {
			return args{}, err
		}
	}
	if len(c.ProxyFrom) > 0 && !c.AcceptProxy {
		return args{}, errors.New("-proxy-from without -accept-proxy")
	}
	f, err := c.File()
	if err != nil {
		return args{}, err
	}
	if err := f.Validate(hostOptions).Err(); err != nil {
		return args{}, err
	}
	return args{file: f, cpuProfile: *cpuProfile}, nil
}

// profile writes a CPU profile to path (if set) until stop is called.
func profile(path string, log interface{ Warn(string, ...any) }) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		log.Warn("cpuprofile", "err", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
