// Package qemurun boots bare-metal images under scripts/qemu.sh for the
// boot tests (test/boot) and the image benchmark (bench): it
// starts QEMU, keeps its console, waits for console lines and stops it.
package qemurun

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Guest is one QEMU run. Its console (the guest's serial port and
// QEMU's and qemu.sh's own output) is kept in memory.
type Guest struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	con  bytes.Buffer
	done chan struct{}
	err  error // QEMU's exit, once done is closed
}

// Start runs root/scripts/qemu.sh image -board board args... (see the
// script for -fwd, -tap and "--" QEMU arguments). The caller must Stop
// the guest.
func Start(root, image, board string, args ...string) (*Guest, error) {
	return StartCommand(filepath.Join(root, "scripts", "qemu.sh"), append([]string{image, "-board", board}, args...)...)
}

// StartCommand runs QEMU (or a script that execs it) as name args...,
// for guests that scripts/qemu.sh does not boot (the benchmark's Linux
// guest). The caller must Stop the guest.
func StartCommand(name string, args ...string) (*Guest, error) {
	g := &Guest{done: make(chan struct{})}
	g.cmd = exec.Command(name, args...)
	g.cmd.Stdout, g.cmd.Stderr = g, g
	g.cmd.WaitDelay = 5 * time.Second
	if err := g.cmd.Start(); err != nil {
		return nil, errors.New(filepath.Base(name) + ": " + err.Error())
	}
	go func() {
		g.err = g.cmd.Wait()
		close(g.done)
	}()
	return g, nil
}

// Write appends to the console (QEMU's stdout and stderr).
func (g *Guest) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.con.Write(p)
}

// Console returns everything printed so far.
func (g *Guest) Console() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.con.String()
}

// Done is closed when QEMU has exited; Err then says how.
func (g *Guest) Done() <-chan struct{} { return g.done }

// Err is QEMU's exit status once Done is closed.
func (g *Guest) Err() error {
	select {
	case <-g.done:
		return g.err
	default:
		return nil
	}
}

// Pid is the process id of QEMU (scripts/qemu.sh execs it), for reading
// its memory use from /proc.
func (g *Guest) Pid() int { return g.cmd.Process.Pid }

// Stop kills QEMU (qemu.sh execs it) and waits for it to exit.
func (g *Guest) Stop() {
	g.cmd.Process.Kill()
	<-g.done
}

// WaitFor polls the console until it contains want, QEMU exits, or
// timeout passes, and returns the console line that matched: whole (the
// console arrives in chunks, so it waits for the line's end unless QEMU
// has exited).
func (g *Guest) WaitFor(want string, timeout time.Duration) (string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if line, whole, ok := findLine(g.Console(), want); ok && whole {
			return line, nil
		}
		select {
		case <-g.done:
			if line, _, ok := findLine(g.Console(), want); ok {
				return line, nil // said it, then exited
			}
			return "", errors.New("QEMU exited (" + errString(g.err) + ") before the console showed " + quote(want))
		case <-deadline.C:
			return "", errors.New("console did not show " + quote(want) + " within " + timeout.String())
		case <-tick.C:
		}
	}
}

// findLine returns the console line holding want, and whether the line
// has ended.
func findLine(console, want string) (line string, whole, ok bool) {
	i := strings.Index(console, want)
	if i < 0 {
		return "", false, false
	}
	start := strings.LastIndexByte(console[:i], '\n') + 1
	end := strings.IndexByte(console[i:], '\n')
	if end < 0 {
		return console[start:], false, true
	}
	return console[start : i+end], true, true
}

func errString(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

func quote(s string) string { return `"` + s + `"` }

// FreePort returns a port on 127.0.0.1 that was free a moment ago, for
// network "tcp" or "udp", to forward to a guest.
func FreePort(network string) (string, error) {
	var addr net.Addr
	switch network {
	case "tcp":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr = l.Addr()
		l.Close()
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr = c.LocalAddr()
		c.Close()
	default:
		return "", errors.New("qemurun: FreePort: network must be tcp or udp, not " + quote(network))
	}
	_, p, err := net.SplitHostPort(addr.String())
	return p, err
}

// Exchange dials addr (a guest's service through a forwarded port or a
// TAP), sends p, half-closes, and returns everything read until EOF,
// all within timeout.
func Exchange(addr string, p []byte, timeout time.Duration) ([]byte, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(p); err != nil {
		return nil, err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return nil, err
	}
	return io.ReadAll(c)
}
