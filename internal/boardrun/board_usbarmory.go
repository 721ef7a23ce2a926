//go:build tamago && usbarmory

package boardrun

import (
	"io"

	"github.com/mirago/mirago/board/usbarmory"
	"github.com/mirago/mirago/stack/netif"
)

// Board names the board this image is built for.
const Board = "usbarmory"

// Open brings the board up and returns its network device (the i.MX ENET:
// ENET2 on the Mk II LAN, ENET1 under QEMU mcimx6ul-evk) and entropy
// source.
func Open() (netif.Device, io.Reader, error) {
	if err := usbarmory.Init(); err != nil {
		return nil, nil, err
	}
	dev, err := usbarmory.Net()
	if err != nil {
		return nil, nil, err
	}
	return dev, usbarmory.Rand(), nil
}

// Exit stops the board; under QEMU with -semihosting, QEMU exits with code.
func Exit(code int) { usbarmory.Exit(code) }
