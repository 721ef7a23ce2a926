//go:build !tamago

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildOut  []byte
)

// buildBinary builds the proxy command once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	// -short is for quick runs by hand; CI and make test never set it.
	if testing.Short() {
		t.Skip("skipping the binary build in -short mode")
	}
	buildOnce.Do(func() {
		dir, err := tempDirOutsideTest()
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "proxy")
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		buildOut, buildErr = exec.Command(gobin, "build", "-o", builtBin, "github.com/mirago/mirago/app/proxy").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building app/proxy: %v\n%s", buildErr, buildOut)
	}
	return builtBin
}

// Bad flags exit 1 with one line on stderr, before touching any device.
func TestBinaryBadFlags(t *testing.T) {
	bin := buildBinary(t)
	for _, args := range [][]string{
		{"-listen", "80", "-upstream", "10.0.0.1:80", "-allow", "10.0.0.0/99"},
		{"-listen", "80"},
		{"-listen", "80", "-upstream", "10.0.0.1:80", "-ip", "nonsense"},
		{"-bogus"},
	} {
		cmd := exec.Command(bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 {
			t.Errorf("proxy %q: %v, want exit status 1", args, err)
		}
		if out := stderr.String(); strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "proxy: ") {
			t.Errorf("proxy %q: stderr is not one line: %q", args, out)
		}
	}
}

// -check-config prints every fault of a file, one per line with its
// line number, and exits 1; a good file (the example) exits 0.
func TestBinaryCheckConfig(t *testing.T) {
	bin := buildBinary(t)
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("[listener.a]\nport = 80\npool = \"nope\"\ncolour = 1\n[pool.p]\nupstreams = [\"10.0.0.1\"]\n"), 0o600)
	cmd := exec.Command(bin, "-check-config", "-config", bad)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("bad file: %v, want exit status 1\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := []string{bad + ":3: no pool called \"nope\"", bad + ":4: unknown setting \"colour\"", bad + ":6: bad upstream \"10.0.0.1\""}
	if len(lines) != len(want) {
		t.Fatalf("bad file: %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want %q...", i+1, lines[i], w)
		}
	}
	out, err = exec.Command(bin, "-check-config", "-config", "proxy.example.toml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok: 3 listeners, 2 pools") {
		t.Fatalf("the example: %v\n%s", err, out)
	}
}
