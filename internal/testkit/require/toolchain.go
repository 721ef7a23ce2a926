package require

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// tamagoCmd is the tool line of go.mod that runs the TamaGo go command.
const tamagoCmd = "github.com/usbarmory/tamago/cmd/tamago"

var toolchain struct {
	once    sync.Once
	root    string // module root
	cmd     string // the tamago command, "" if missing or broken
	missing string // what is missing, for Missing
	err     error  // the probe itself failed (not a missing requirement)
}

// Toolchain requires the TamaGo toolchain where the tamago command looks
// for it (os.UserCacheDir()/tamago-go/tamago-go<tamago module version>;
// `make toolchain` puts it there) and returns the path of the tamago
// command, which `go tool -n github.com/usbarmory/tamago/cmd/tamago`
// prints. Run that command as the go command with GOOS=tamago
// GOOSPKG=github.com/usbarmory/tamago GOARCH=arm GOARM=7 in the
// environment. The test never installs the toolchain itself: that takes
// minutes and, online, GitHub.
func Toolchain(t testing.TB) string {
	t.Helper()
	probeToolchain()
	if toolchain.err != nil {
		t.Fatalf("looking for the TamaGo toolchain: %v", toolchain.err)
	}
	if toolchain.missing != "" {
		Missing(t, toolchain.missing)
	}
	return toolchain.cmd
}

// ModuleRoot returns the directory holding the go.mod of the module under
// test (the tests run inside it); t fails if there is none.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := string(bytes.TrimSpace(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("cannot find the module root (go env GOMOD: %q, %v)", gomod, err)
	}
	return filepath.Dir(gomod), nil
}

func probeToolchain() {
	tc := &toolchain
	tc.once.Do(func() {
		if tc.root, tc.err = moduleRoot(); tc.err != nil {
			return
		}
		cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/usbarmory/tamago")
		cmd.Dir = tc.root
		out, err := cmd.Output()
		if err != nil {
			tc.err = fmt.Errorf("go list -m github.com/usbarmory/tamago: %v", err)
			return
		}
		version := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
		cache, err := os.UserCacheDir()
		if err != nil {
			tc.missing = "a user cache dir for the TamaGo toolchain: " + err.Error()
			return
		}
		goroot := filepath.Join(cache, "tamago-go", "tamago-go"+version)
		if _, err := os.Stat(filepath.Join(goroot, "bin", "go")); err != nil {
			tc.missing = fmt.Sprintf("the TamaGo toolchain tamago-go%s in %s (install it with make toolchain; offline: make toolchain TAMAGO_SRC=/path/to/tamago-go%s.src.tar.xz)",
				version, goroot, version)
			return
		}
		cmd = exec.Command("go", "tool", "-n", tamagoCmd)
		cmd.Dir = tc.root
		if out, err = cmd.Output(); err != nil {
			tc.err = fmt.Errorf("go tool -n %s: %v", tamagoCmd, err)
			return
		}
		tc.cmd = string(bytes.TrimSpace(out))
	})
}
