//go:build tamago && qemuvirt

package boardrun

import (
	"errors"
	"io"
	"time"

	qemuvirt "github.com/mirago/mirago/board/qemu-virt"
	"github.com/mirago/mirago/drivers/virtio"
	"github.com/mirago/mirago/internal/buildcfg"
	"github.com/mirago/mirago/stack/netif"
)

// Board names the board this image is built for.
const Board = "qemu-virt"

// Open brings the board up and returns its network device (virtio-net,
// with the offloads the device offers but NOOFFLOAD) and entropy source
// (the DRBG seeded from virtio-rng).
func Open() (netif.Device, io.Reader, error) {
	off, err := virtio.ParseOffloads(buildcfg.NOOFFLOAD)
	if err != nil {
		return nil, nil, errors.New("bad NOOFFLOAD: " + err.Error())
	}
	qemuvirt.NetConfig.Disable = off
	if err := qemuvirt.Init(); err != nil {
		return nil, nil, err
	}
	dev, err := qemuvirt.Net()
	if err != nil {
		return nil, nil, err
	}
	return dev, qemuvirt.Rand(), nil
}

// HeapRoom is the memory the Go heap can grow into on this machine (RAM
// from the device tree, less the image, boot stack and DMA region); the
// stack's limits are scaled from it (Limits).
func HeapRoom() uint64 { return qemuvirt.HeapRoom() }

// Phase is one step of bring-up and when it finished (since reset).
type Phase = qemuvirt.Phase

// BootPhases are the board's bring-up steps (hwinit1, Init, Net).
func BootPhases() []Phase { return qemuvirt.BootPhases() }

// Uptime is the time since reset (the generic timer's count).
func Uptime() time.Duration { return qemuvirt.Uptime() }

// Exit stops the board; under QEMU with -semihosting, QEMU exits with code.
func Exit(code int) { qemuvirt.Exit(code) }

// stepClock and slewClock set the runtime's clock (the board's StepClock
// and SlewClock).
func stepClock(d time.Duration) { qemuvirt.StepClock(d) }
func slewClock(d time.Duration) { qemuvirt.SlewClock(d) }
