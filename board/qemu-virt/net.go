// The network interface: virtio-net with interrupt-driven receive.

//go:build tamago && arm

package qemuvirt

import (
	"runtime"
	"sync"

	"github.com/mirago/mirago/drivers/virtio"
	"github.com/mirago/mirago/stack/netif"
)

var (
	netOnce sync.Once
	netDev  *virtio.Net
	netErr  error
)

// NetConfig configures the virtio-net driver; set it before the first
// call to Net. boardrun sets Disable from the NOOFFLOAD build setting.
var NetConfig virtio.NetConfig

// Net returns the machine's network interface: the first virtio-net device
// (-device virtio-net-device), brought up on first call with
// interrupt-driven receive. The handler installed with SetHandler runs on
// the device's receive goroutine.
func Net() (netif.Device, error) {
	dev, err := VirtioNet()
	if err != nil {
		return nil, err
	}
	return dev, nil
}

// VirtioNet is Net with the concrete type, for driver statistics.
func VirtioNet() (*virtio.Net, error) {
	netOnce.Do(func() { netDev, netErr = startNet() })
	return netDev, netErr
}

func startNet() (*virtio.Net, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	s, ok := findSlot(virtio.DeviceNet)
	if !ok {
		return nil, errNoDevice("virtio-net")
	}
	mem, err := dmaMemory()
	if err != nil {
		return nil, err
	}
	dev, err := virtio.NewNet(s.t, mem, NetConfig)
	if err != nil {
		return nil, err
	}
	wake := make(chan struct{}, 1)
	handlers[s.irq] = func() {
		// Acknowledge at the device so the level interrupt drops, then
		// let the receive goroutine do the work.
		dev.AckInterrupt()
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	go receive(dev, wake)
	gicEnable(s.irq)
	mark("virtio-net")
	print("qemu-virt: virtio-net ", dev.MAC().String(), " mtu ", dev.MTU(), " irq ", s.irq,
		" offloads ", virtio.OffloadNames(dev.Features()), "\n")
	return dev, nil
}

// receive polls the receive ring each time the interrupt fires, until it
// is empty; it sleeps on the channel otherwise.
func receive(dev *virtio.Net, wake <-chan struct{}) {
	for range wake {
		for dev.Poll() > 0 {
			runtime.Gosched()
		}
	}
}
