//go:build tamago

package main

import (
	"context"
	"errors"

	"github.com/mirago/mirago/internal/boardrun"
)

// main is the bare-metal proxy appliance: board and settings come from the
// build (make image APP=proxy BOARD=qemu-virt|usbarmory CONFIG=FILE, or
// PORT=LISTEN UPSTREAM=HOST:PORT,... ALLOW=CIDR,... for one listener),
// logs go to the console, and it serves until the board is switched off.
// There are no signals on TamaGo, so nothing cancels the context or
// reloads. A name in an upstream needs DHCP=1: the lease's DNS servers
// resolve it, through our stack, for each connection.
func main() {
	log := boardrun.Logger()
	env, err := boardrun.Start(log)
	if err != nil {
		boardrun.Fatal(log, "proxy: start", err)
	}
	f, err := FileFromBuild()
	if err != nil {
		boardrun.Fatal(log, "proxy: settings", err)
	}
	// Run returns only if the configuration is bad or a port cannot be
	// listened on (or ctx ends, which it never does here).
	o := Options{Log: log, Families: env.Stack.Reachable}
	if env.Resolver != nil {
		o.Resolver = env.Resolver
	}
	err = Run(context.Background(), env.Stack, f, o)
	if err == nil {
		err = errors.New("proxy stopped")
	}
	boardrun.Fatal(log, "proxy: serve", err)
}
