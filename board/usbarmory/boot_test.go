package usbarmory

// TestBootENET builds test/boot/enetnet with the TamaGo toolchain
// and boots it under QEMU's mcimx6ul-evk with user networking: the image
// must get an ARP reply from QEMU's gateway and exit 0 through semihosting.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/require"
)

// Link address of the USB armory Mk II (tamago README: RAM at 0x80000000,
// text at +64 KiB).
const ldflags = "-T 0x80010000 -R 0x1000"

func TestBootENET(t *testing.T) {
	// -short is for quick runs by hand; CI and make test never set it.
	if testing.Short() {
		t.Skip("boot test skipped in -short mode")
	}
	root := require.ModuleRoot(t)
	tamago := require.Toolchain(t)
	require.Commands(t, "qemu-system-arm", "qemu-system-arm")
	qemu, err := exec.LookPath("qemu-system-arm")
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	elf := filepath.Join(t.TempDir(), "enetnet.elf")
	build := exec.CommandContext(ctx, tamago, "build", "-ldflags", ldflags, "-o", elf, "./test/boot/enetnet")
	build.Dir = root
	build.Env = tamagoEnv()
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
// tamago command (require.Toolchain), which sets GOROOT itself.
func tamagoEnv() []string {
	return append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=",
		"GOOS=tamago", "GOOSPKG=github.com/usbarmory/tamago", "GOARCH=arm", "GOARM=7")
}
