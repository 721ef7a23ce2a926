// Host-side boot test: build the boot-test image and run it under QEMU.

package qemuvirt

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/require"
)

// TestBootQEMU builds test/boot/virtnet with the TamaGo toolchain
// (make image APP=boottest) and boots it under qemu-system-arm with user
// networking. The image must find virtio-net and virtio-rng, sleep, get
// QEMU's ARP reply for 10.0.2.2, push a 1000-frame burst through both
// rings (with ErrBusy backpressure) and get every reply, then exit 0
// through semihosting. Without the toolchain, QEMU or make it skips
// (under CI=true: fails), naming what is missing.
func TestBootQEMU(t *testing.T) {
	// -short is for quick runs by hand; CI and make test never set it.
	if testing.Short() {
		t.Skip("boot test skipped in -short mode")
	}
	root := require.ModuleRoot(t)
	require.Toolchain(t)
	require.Commands(t, "qemu-system-arm", "qemu-system-arm")
	require.Commands(t, "make", "make")

	ctx, cancel := context.WithTimeout(context.Background(), 110*time.Second)
	defer cancel()
	build := exec.CommandContext(ctx, "make", "-s", "-f", "mk/baremetal.mk", "image",
		"APP=boottest", "BOARD=qemu-virt", "OUT="+t.TempDir())
	build.Dir = root
	out, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	image := lines[len(lines)-1]
	if _, err := os.Stat(image); err != nil {
		t.Fatalf("make image: last line %q is not the image\n%s", image, out)
	}

	boot := exec.CommandContext(ctx, filepath.Join(root, "scripts", "qemu.sh"), image, "-board", "qemu-virt")
	boot.Stdin = nil
	var console bytes.Buffer
	boot.Stdout, boot.Stderr = &console, &console
	boot.WaitDelay = 5 * time.Second
	err = boot.Run()
	t.Logf("console:\n%s", console.String())
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("QEMU did not exit in time")
	case errors.As(err, &exit):
		t.Fatalf("guest exited with status %d", exit.ExitCode())
	case err != nil:
		t.Fatalf("qemu.sh: %v", err)
	}
	for _, want := range []string{
		"entropy from virtio-rng",
		"boottest: sleep ok",
		"boottest: clock step and slew ok",
		"boottest: ARP reply: 10.0.2.2 is at 52:55:0a:00:02:02",
		"boottest: burst: 1000 ARP requests sent",
		"boottest: PASS",
	} {
		if !strings.Contains(console.String(), want) {
			t.Errorf("console lacks %q", want)
		}
	}
}
