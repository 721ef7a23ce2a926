//go:build !tamago

package main

import (
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
