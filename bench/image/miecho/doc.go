//go:build tamago && qemuvirt

// Command miecho is bench/image/gvecho with mirago's stack in place of
// gVisor's: the same main, the same echo loops (bench/image/echoloop: TCP
// with a 32 KiB buffer, UDP), the same console logging, on the same board
// and driver. It is
// app/echo without its graceful shutdown, counters and settings checks,
// so that its size against gvecho compares the stacks and not the apps.
//
// It builds only for the board (GOOS=tamago GOARCH=arm, tag qemuvirt);
// bench.BuildImages builds it with gvecho.
package main
