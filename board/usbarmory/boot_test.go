package usbarmory

// TestBootENET builds test/boot/enetnet with the TamaGo toolchain
// and boots it under QEMU's mcimx6ul-evk with user networking: the image
// must get an ARP reply from QEMU's gateway and exit 0 through semihosting.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Link address of the USB armory Mk II (tamago README: RAM at 0x80000000,
// text at +64 KiB).
const ldflags = "-T 0x80010000 -R 0x1000"

func TestBootENET(t *testing.T) {
	if testing.Short() {
		t.Skip("boot test skipped in -short mode")
	}
	root := moduleRoot(t)
	gobin := tamagoGo(t, root)
	qemu, err := exec.LookPath("qemu-system-arm")
	if err != nil {
		t.Skip("qemu-system-arm not found (Debian: apt-get install qemu-system-arm)")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	elf := filepath.Join(t.TempDir(), "enetnet.elf")
	build := exec.CommandContext(ctx, gobin, "build", "-ldflags", ldflags, "-o", elf, "./test/boot/enetnet")
	build.Dir = root
	build.Env = tamagoEnv(filepath.Dir(filepath.Dir(gobin)))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("tamago build: %v\n%s", err, out)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var console bytes.Buffer
	run := exec.CommandContext(ctx, qemu,
		"-machine", "mcimx6ul-evk", "-cpu", "cortex-a7", "-m", "512M",
		"-nographic", "-monitor", "none", "-semihosting",
		"-serial", "null", "-serial", "stdio",
		"-net", "nic,model=imx.enet,netdev=n0", "-netdev", "user,id=n0",
		"-kernel", elf)
	run.Stdout, run.Stderr = &console, &console
	err = run.Run()
	t.Logf("console:\n%s", console.String())
	if ctx.Err() != nil {
		t.Fatal("QEMU did not exit within 90s")
	}
	if err != nil {
		t.Fatalf("QEMU: %v (want exit status 0)", err)
	}
	if !regexp.MustCompile(`ARP reply: 10\.0\.2\.2 is at ([0-9a-f]{2}:){5}[0-9a-f]{2}`).Match(console.Bytes()) {
		t.Fatal("no ARP reply from 10.0.2.2 on the console")
	}
}

// tamagoEnv is the environment for building for this board with the
// TamaGo toolchain rooted at goroot.
func tamagoEnv(goroot string) []string {
	return append(os.Environ(),
		"GOROOT="+goroot, "GOTOOLCHAIN=local", "GOFLAGS=",
		"GOOS=tamago", "GOOSPKG=github.com/usbarmory/tamago", "GOARCH=arm", "GOARM=7")
}

func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if dir == filepath.Dir(dir) {
			t.Fatal("go.mod not found")
		}
	}
}

// tamagoGo returns the TamaGo go command: $TAMAGO if set, else the one
// `go tool github.com/usbarmory/tamago/cmd/tamago` would run, which it
// installs into the user cache dir as tamago-go/tamago-go<version> (this
// test never installs it: that needs GitHub).
func tamagoGo(t *testing.T, root string) string {
	if p := os.Getenv("TAMAGO"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("TAMAGO=%s: %v", p, err)
		}
		return p
	}
	v, err := tamagoVersion(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Skipf("TamaGo toolchain not found: no user cache dir (%v); set TAMAGO", err)
	}
	p := filepath.Join(cache, "tamago-go", "tamago-go"+v, "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("TamaGo toolchain tamago-go%s not found at %s: build it (the command `go tool -n github.com/usbarmory/tamago/cmd/tamago` prints installs it, from GitHub) or set TAMAGO to its bin/go", v, p)
	}
	return p
}

// tamagoVersion reads the tamago module version from go.mod, without the v.
func tamagoVersion(gomod string) (string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "github.com/usbarmory/tamago" && strings.HasPrefix(f[i+1], "v") {
				return strings.TrimPrefix(f[i+1], "v"), nil
			}
		}
	}
	return "", errors.New("github.com/usbarmory/tamago not required in " + gomod)
}
