//go:build tamago && qemuvirt

package boardrun

import (
	"io"

	qemuvirt "github.com/mirago/mirago/board/qemu-virt"
	"github.com/mirago/mirago/stack/netif"
)

// Board names the board this image is built for.
const Board = "qemu-virt"

// Open brings the board up and returns its network device (virtio-net)
// and entropy source (the DRBG seeded from virtio-rng).
func Open() (netif.Device, io.Reader, error) {
	if err := qemuvirt.Init(); err != nil {
		return nil, nil, err
	}
	dev, err := qemuvirt.Net()
	if err != nil {
		return nil, nil, err
	}
	return dev, qemuvirt.Rand(), nil
}

// Exit stops the board; under QEMU with -semihosting, QEMU exits with code.
func Exit(code int) { qemuvirt.Exit(code) }
