//go:build tamago

package main

import (
	"context"
	"errors"

	"github.com/mirago/mirago/internal/boardrun"
)

// main is the bare-metal proxy appliance: board and settings come from the
// build (make image APP=proxy BOARD=qemu-virt|usbarmory PORT=LISTEN
// UPSTREAM=HOST:PORT ALLOW=CIDR,...), logs go to the console, and it
// serves until the board is switched off. There are no signals on TamaGo,
// so nothing cancels the context. A name in UPSTREAM needs DHCP=1: the
// lease's DNS servers resolve it, through our stack, for each connection.
func main() {
	log := boardrun.Logger()
	env, err := boardrun.Start(log)
	if err != nil {
		boardrun.Fatal(log, "proxy: start", err)
	}
	if env.Resolve != nil {
		upstreamResolver = env.Resolve
	}
	cfg, err := ConfigFromBuild()
	if err != nil {
		boardrun.Fatal(log, "proxy: settings", err)
	}
	cfg.Log = log
	// Run returns only if the configuration is bad or the port cannot be
	// listened on (or ctx ends, which it never does here).
	err = Run(context.Background(), env.Stack, cfg)
	if err == nil {
		err = errors.New("proxy stopped")
	}
	boardrun.Fatal(log, "proxy: serve", err)
}
