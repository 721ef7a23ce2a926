package pcap

import (
	"sync/atomic"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// Device implements netif.Device and netif.TxRoomNotifier (checked at
// compile time).
var (
	_ netif.Device         = (*Device)(nil)
	_ netif.TxRoomNotifier = (*Device)(nil)
)

// SetTxRoom implements netif.TxRoomNotifier: the wrapped device's
// notification, if it has one.
func (d *Device) SetTxRoom(f func()) bool {
	if n, ok := d.dev.(netif.TxRoomNotifier); ok {
		return n.SetTxRoom(f)
	}
	return false
}

// Device records every frame a wrapped device sends and receives. It
// implements netif.Device by delegating to the wrapped device.
//
// A capture error never fails the data path; it is kept in the Writer (see
// Writer.Err).
type Device struct {
	dev     netif.Device
	w       *Writer
	clk     clock.Clock
	handler atomic.Pointer[netif.Handler]
	rx      netif.Handler // d.input, bound once so SetHandler does not allocate it per call
}

// Wrap returns dev with every frame it transmits successfully and every
// frame it delivers recorded to w, timestamped by clk. Closing the Device
// closes dev, not w.
func Wrap(dev netif.Device, w *Writer, clk clock.Clock) *Device {
	d := &Device{dev: dev, w: w, clk: clk}
	d.rx = d.input
	return d
}

func (d *Device) input(frame []byte, meta netif.RxMeta) {
	d.w.WriteFrame(d.clk.Now(), frame)
	if h := d.handler.Load(); h != nil {
		(*h)(frame, meta)
	}
}

// Transmit implements netif.Device.Transmit. Frames the device refuses are
// not recorded.
func (d *Device) Transmit(b *pkt.Buf) error {
	n := b.Len()
	if err := d.dev.Transmit(b); err != nil {
		return err
	}
	// b is still the caller's until we return, so it can be recorded after
	// the device has accepted it. A driver may have prepended its own
	// device header (virtio-net does); skip it to record the Ethernet frame.
	d.w.writeBuf(d.clk.Now(), b, b.Len()-n)
	return nil
}

// SetHandler implements netif.Device.SetHandler. With no handler the
// wrapped device drops (and counts) frames itself, so they are not recorded.
func (d *Device) SetHandler(h netif.Handler) {
	if h == nil {
		d.handler.Store(nil)
		d.dev.SetHandler(nil)
		return
	}
	d.handler.Store(&h)
	d.dev.SetHandler(d.rx)
}

// MAC implements netif.Device.MAC.
func (d *Device) MAC() inet.MAC { return d.dev.MAC() }

// MTU implements netif.Device.MTU.
func (d *Device) MTU() int { return d.dev.MTU() }

// Offloads implements netif.Device.Offloads: the wrapped device's. Frames
// are recorded as the device takes and hands them, so a TSO frame is
// recorded whole and a checksum left to the device as it was left, as
// tcpdump shows them on Linux.
func (d *Device) Offloads() netif.Offloads { return d.dev.Offloads() }

// Headroom implements netif.Device.Headroom.
func (d *Device) Headroom() int { return d.dev.Headroom() }

// LinkUp implements netif.Device.LinkUp.
func (d *Device) LinkUp() bool { return d.dev.LinkUp() }

// Stats implements netif.Device.Stats.
func (d *Device) Stats() netif.Stats { return d.dev.Stats() }

// Close implements netif.Device.Close. It closes the wrapped device and
// flushes the Writer, which stays open.
func (d *Device) Close() error {
	err := d.dev.Close()
	d.w.Flush()
	return err
}
