//go:build tamago && usbarmory

package boardrun

import (
	"io"
	"time"
	_ "unsafe"

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

// HeapRoom is the memory the Go heap can grow into (the board's 512 MB
// less the image and boot stack); the stack's limits are scaled from it
// (Limits), which at this size gives the stack's own defaults.
func HeapRoom() uint64 { return usbarmory.HeapRoom() }

// Phase is one step of bring-up and when it finished.
type Phase struct {
	Name string
	At   time.Duration
}

// BootPhases: the USB armory board records none of its own (tamago's
// mk2 brings the SoC up before any mirago code runs).
func BootPhases() []Phase { return nil }

// Uptime is the time since the runtime started counting (tamago's mk2
// clock), which stands in for time since reset.
func Uptime() time.Duration { return time.Duration(runtimeNano()) }

// Exit stops the board; under QEMU with -semihosting, QEMU exits with code.
func Exit(code int) { usbarmory.Exit(code) }

// runtimeNano is the runtime's monotonic clock (runtime.nanotime).
//
//go:linkname runtimeNano runtime.nanotime
func runtimeNano() int64

// stepClock and slewClock set the runtime's clock (the board's StepClock
// and SlewClock).
func stepClock(d time.Duration) { usbarmory.StepClock(d) }
func slewClock(d time.Duration) { usbarmory.SlewClock(d) }
