// Package tap is a netif.Device over a Linux TAP interface, so that the
// stack can run as an ordinary host process and talk to the host kernel.
//
// The TAP's kernel-side interface has its own MAC address; ours (the
// stack's) is distinct and is chosen by Options.MAC, as if our stack were a
// separate machine plugged into the kernel's interface.
//
// Frames go out through a transmit ring drained by a writer goroutine,
// which coalesces consecutive TCP segments of one connection into one
// large GSO segment (IFF_VNET_HDR, as a virtio-net guest doing TSO), so
// that a bulk send costs one write system call per 64 KiB rather than per
// frame; see tx_linux.go. Options.PlainFrames turns the coalescing off.
//
// On systems other than Linux, Open returns ErrUnsupported.
package tap

import (
	"errors"

	"github.com/mirago/mirago/stack/inet"
)

// ErrUnsupported is returned by Open on systems without TAP support.
var ErrUnsupported = errors.New("tap: TAP is only supported on Linux")

// DefaultMTU is the MTU used when Options.MTU is zero.
const DefaultMTU = 1500

// Options configures Open.
type Options struct {
	// MAC is our address on the link. Zero means a random, locally
	// administered address from crypto/rand.
	MAC inet.MAC
	// MTU is the largest Ethernet payload (default 1500). When SetMTU is
	// set, the kernel-side interface gets the same MTU.
	MTU int
	// SetMTU applies MTU to the kernel-side interface (SIOCSIFMTU).
	SetMTU bool
	// BringUp sets the kernel-side interface administratively up
	// (SIOCSIFFLAGS, IFF_UP), like `ip link set NAME up`.
	BringUp bool
	// PlainFrames turns off IFF_VNET_HDR: every frame is written on its
	// own. By default frames carry a virtio-net header, which lets the
	// transmit path coalesce consecutive TCP segments of one connection
	// into one large (GSO) write to the kernel.
	PlainFrames bool
}
