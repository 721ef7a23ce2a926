//go:build !linux

package tap

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// Device implements netif.Device (checked at compile time).
var _ netif.Device = (*Device)(nil)

// Device is a TAP interface; on this system it cannot be opened.
type Device struct{}

// Open returns ErrUnsupported: TAP is only supported on Linux.
func Open(name string, opts Options) (*Device, error) { return nil, ErrUnsupported }

// Name returns the interface name.
func (d *Device) Name() string { return "" }

// MAC implements netif.Device.MAC.
func (d *Device) MAC() inet.MAC { return inet.MAC{} }

// MTU implements netif.Device.MTU.
func (d *Device) MTU() int { return 0 }

// Headroom implements netif.Device.Headroom.
func (d *Device) Headroom() int { return 0 }

// Offloads implements netif.Device.Offloads.
func (d *Device) Offloads() netif.Offloads { return netif.Offloads{} }

// LinkUp implements netif.Device.LinkUp.
func (d *Device) LinkUp() bool { return false }

// Transmit implements netif.Device.Transmit.
func (d *Device) Transmit(b *pkt.Buf) error { return ErrUnsupported }

// SetHandler implements netif.Device.SetHandler.
func (d *Device) SetHandler(h netif.Handler) {}

// Stats implements netif.Device.Stats.
func (d *Device) Stats() netif.Stats { return netif.Stats{} }

// Close implements netif.Device.Close.
func (d *Device) Close() error { return nil }
