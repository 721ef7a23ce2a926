//go:build !tamago

package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mirago/mirago/internal/hostrun"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/sntp"
)

func main() {
	var hf hostrun.Flags
	cfg, err := parseFlags(&hf, os.Args[1:], os.Stderr)
	if err == flag.ErrHelp {
		os.Exit(0)
	}
	if err != nil {
		hostrun.Fatal("echo", err)
	}
	env, err := hf.Start()
	if err != nil {
		hostrun.Fatal("echo", err)
	}
	cfg.Log = env.Log
	if env.NTP != nil {
		cfg.NTPMetrics, cfg.NTPGauges = func() any { return env.NTP.Metrics() }, sntp.MetricGauges()
	}
	ctx, cancel := hostrun.SignalContext()
	defer cancel()
	if err := Run(ctx, env.Stack, cfg); err != nil {
		env.Close()
		hostrun.Fatal("echo", err)
	}
	env.Log.Info("shutting down")
	if err := env.Close(); err != nil {
		env.Log.Warn("close", "err", err)
	}
}

// parseFlags parses the host flags (common ones into hf) into a Config.
// Errors are one line; -help prints the usage to usage.
func parseFlags(hf *hostrun.Flags, args []string, usage io.Writer) (Config, error) {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	hf.Register(fs)
	port := fs.String("port", "7", "echo port (TCP and UDP)")
	grace := fs.Duration("grace", DefaultGrace, "on SIGINT/SIGTERM, how long open connections may finish")
	metricsPort := fs.String("metrics", "", "TCP port of the Prometheus metrics endpoint on our stack (default: off)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(usage)
			fmt.Fprintln(usage, "usage: echo [flags] [-port 7]")
			fs.PrintDefaults()
			return Config{}, err
		}
		return Config{}, fmt.Errorf("%v (see -help)", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := Config{Grace: *grace}
	var err error
	if cfg.Port, err = inet.ParsePort("-port", *port); err != nil {
		return Config{}, err
	}
	if *metricsPort != "" {
		if cfg.Metrics, err = inet.ParsePort("-metrics", *metricsPort); err != nil {
			return Config{}, err
		}
	}
	return cfg, cfg.Validate()
}
