// Package tap is a netif.Device over a Linux TAP interface, so that the
// stack can run as an ordinary host process and talk to the host kernel.
//
// The TAP's kernel-side interface has its own MAC address; ours (the
// stack's) is distinct and is chosen by Options.MAC, as if our stack were a
// separate machine plugged into the kernel's interface.
//
// Frames carry a virtio-net header (IFF_VNET_HDR), and the device offers
// the stack the offloads a VM gets from it (netif.Offloads): the kernel
// completes the checksums we leave partial and cuts our TSO segments of up
// to 64 KiB, and, asked with TUNSETOFFLOAD, hands us partial checksums and
// TCP segments it has not cut (up to 64 KiB), so that a bulk transfer
// costs one system call per 64 KiB either way. Frames go out through a
// transmit ring drained by a writer goroutine; see tx_linux.go.
// Options.PlainFrames turns the header, and with it every offload, off.
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
	// PlainFrames turns off IFF_VNET_HDR: frames of at most the MTU, with
	// every checksum computed by the stack and the kernel, both ways.
	PlainFrames bool
	// NoTSO keeps the header and checksum offload but turns TSO off
	// both ways: frames of at most the MTU.
	NoTSO bool
}
