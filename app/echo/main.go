//go:build !tamago

package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/mirago/mirago/internal/hostrun"
)

func main() {
	var f hostrun.Flags
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	f.Register(fs)
	port := fs.Uint("port", 7, "echo port (TCP and UDP)")
	grace := fs.Duration("grace", 5*time.Second, "on SIGINT/SIGTERM, how long open connections may finish")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		hostrun.Fatal("echo", fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if *port == 0 || *port > 65535 {
		hostrun.Fatal("echo", fmt.Errorf("bad -port %d: want 1-65535", *port))
	}
	env, err := f.Start()
	if err != nil {
		hostrun.Fatal("echo", err)
	}
	ctx, cancel := hostrun.SignalContext()
	defer cancel()
	env.Log.Info("echo serving", "port", *port)
	errc := make(chan error, 2)
	go func() { errc <- serveUDP(ctx, env.Stack, uint16(*port), env.Log) }()
	go func() { errc <- serveTCP(ctx, env.Stack, uint16(*port), *grace, env.Log) }()
	for i := 0; i < 2; i++ {
		if err := <-errc; err != nil {
			env.Close()
			hostrun.Fatal("echo", err)
		}
	}
	env.Log.Info("shutting down")
	if err := env.Close(); err != nil {
		env.Log.Warn("close", "err", err)
	}
}
