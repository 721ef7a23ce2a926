//go:build tamago

package main

import (
	"context"
	"errors"

	"github.com/mirago/mirago/internal/boardrun"
)

// main is the bare-metal echo appliance: board and settings come from the
// build (make image APP=echo BOARD=qemu-virt|usbarmory PORT=...), logs go
// to the console, and it serves until the board is switched off. There
// are no signals on TamaGo, so nothing cancels the context.
func main() {
	log := boardrun.Logger()
	cfg, err := ConfigFromBuild()
	if err != nil {
		boardrun.Fatal(log, "echo: settings", err)
	}
	env, err := boardrun.Start(log)
	if err != nil {
		boardrun.Fatal(log, "echo: start", err)
	}
	cfg.Log = log
	cfg.NTPMetrics, cfg.NTPGauges = env.NTPMetrics, env.NTPGauges
	// Run returns only if a port cannot be bound (or ctx ends, which it
	// never does here).
	err = Run(context.Background(), env.Stack, cfg)
	if err == nil {
		err = errors.New("echo service stopped")
	}
	boardrun.Fatal(log, "echo: serve", err)
}
