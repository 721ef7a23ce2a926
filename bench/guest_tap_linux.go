//go:build linux

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// runGuestTAP is runGuest over a TAP made for the guest: the kernel side
// is 10.199.N.1/24 (N reserved as internal/testkit/taptest does), the
// guest 10.199.N.15 (for mirago an image built with that address), and
// QEMU's tap backend has the vnet header, so the
// virtio-net device offers its checksum and segmentation offloads.
func runGuestTAP(env GuestEnv, guest, image string, sz Sizes) (guestRun, error) {
	n, release, err := allocateSubnet()
	if err != nil {
		return guestRun{}, err
	}
	defer release()
	name := fmt.Sprintf("mbg%d_%d", n, os.Getpid()%10000)
	if err := run("ip", "tuntap", "add", "dev", name, "mode", "tap"); err != nil {
		return guestRun{}, err
	}
	defer exec.Command("ip", "link", "del", name).Run()
	if err := configureKernel(name, n); err != nil {
		return guestRun{}, err
	}
	if guest == GuestMirago {
		// The image's address is linked in (make image IP= GW=).
		dir, err := os.MkdirTemp("", "mirago-bench-guest-tap-")
		if err != nil {
			return guestRun{}, err
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), imageBuildMax)
		defer cancel()
		image, err = buildEchoImage(ctx, env.Image, dir,
			fmt.Sprintf("IP=10.199.%d.15/24", n), fmt.Sprintf("GW=10.199.%d.1", n))
		if err != nil {
			return guestRun{}, err
		}
	}
	return runGuest(env, guest, image, guestNet{tap: name, tapN: n}, sz)
}
