package qemurun

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFindLine(t *testing.T) {
	con := "booting\nlevel=INFO msg=\"echo serving\" port=7\nmore"
	for _, tc := range []struct {
		want, line string
		whole, ok  bool
	}{
		{`msg="echo serving"`, `level=INFO msg="echo serving" port=7`, true, true},
		{"booting", "booting", true, true},
		{"more", "more", false, true}, // the line has not ended yet
		{"absent", "", false, false},
	} {
		line, whole, ok := findLine(con, tc.want)
		if line != tc.line || whole != tc.whole || ok != tc.ok {
			t.Errorf("findLine(%q) = %q, %v, %v; want %q, %v, %v", tc.want, line, whole, ok, tc.line, tc.whole, tc.ok)
		}
	}
}

func TestFreePort(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		p, err := FreePort(network)
		if err != nil || p == "" || p == "0" {
			t.Fatalf("FreePort(%s) = %q, %v", network, p, err)
		}
	}
	if _, err := FreePort("sctp"); err == nil {
		t.Error("FreePort accepted sctp")
	}
	// The port is free: it can be listened on again.
	p, _ := FreePort("tcp")
	l, err := net.Listen("tcp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatalf("port %s from FreePort: %v", p, err)
	}
	l.Close()
}

// A guest whose QEMU fails at once: WaitFor reports the exit, not a
// timeout. A failing script stands in for scripts/qemu.sh.
func TestWaitForExit(t *testing.T) {
	dir := t.TempDir()
	if err := writeFailingScript(dir); err != nil {
		t.Fatal("cannot make a stand-in qemu.sh: ", err)
	}
	g, err := Start(dir, "image.elf", "qemu-virt")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	_, err = g.WaitFor("never", time.Minute)
	if err == nil || g.Err() == nil {
		t.Fatalf("WaitFor = %v, Err = %v; want QEMU's failure", err, g.Err())
	}
}

// writeFailingScript makes dir/scripts/qemu.sh a script that prints a
// line and fails.
func writeFailingScript(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "scripts"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "scripts", "qemu.sh"), []byte("#!/bin/sh\necho booting\nexit 3\n"), 0o755)
}

func TestExchange(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 64)
		n, _ := c.Read(b)
		c.Write(append([]byte("echo: "), b[:n]...))
	}()
	got, err := Exchange(l.Addr().String(), []byte("hi"), 10*time.Second)
	if err != nil || string(got) != "echo: hi" {
		t.Fatalf("Exchange = %q, %v", got, err)
	}
}
