package impair

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

// Device is a netif.Device with faults injected between the stack and the
// wrapped device.
//
// Held frames are released from the clock's timer callback, so with a real
// clock the wrapped device sees Transmit from that goroutine too. The
// wrapped device must not call its handler from inside Transmit (no
// synchronous loopback); every driver in this repository delivers from its
// own goroutine.
type Device struct {
	dev     netif.Device
	tx, rx  *path // nil when that direction is not impaired
	handler atomic.Pointer[netif.Handler]
	input   netif.Handler // d.receive, bound once
	closed  atomic.Bool
}

// Wrap impairs dev in the directions spec.Dir selects, with spec's faults.
func Wrap(dev netif.Device, spec Spec, clk clock.Clock) *Device {
	var tx, rx Spec
	if spec.Dir != Rx {
		tx = spec
	}
	if spec.Dir != Tx {
		rx = spec
	}
	return WrapEach(dev, tx, rx, clk)
}

// WrapEach impairs transmitted frames with tx and received frames with rx;
// their Dir fields are ignored. Each direction draws from its own
// generator, seeded by its Seed, so the two do not perturb each other.
func WrapEach(dev netif.Device, tx, rx Spec, clk clock.Clock) *Device {
	d := &Device{dev: dev}
	d.input = d.receive
	off := dev.Offloads()
	maxFrame := max(dev.MTU(), off.TSO4Max, off.TSO6Max) + netif.EthernetHeaderLen
	maxFrame = max(maxFrame, off.LargeReceive)
	if tx.active() {
		d.tx = newPath(tx, clk, 1, dev.Headroom(), maxFrame, d.transmit)
	}
	if rx.active() {
		d.rx = newPath(rx, clk, 2, 0, maxFrame, d.deliver)
	}
	return d
}

// Transmit implements netif.Device.Transmit. A frame that is lost or held
// counts as sent: nil is returned, as a real link would.
func (d *Device) Transmit(b *pkt.Buf) error {
	if d.closed.Load() {
		return netif.ErrClosed
	}
	if d.tx == nil {
		return d.dev.Transmit(b)
	}
	return d.tx.input(b, nil, netif.RxMeta{})
}

func (d *Device) transmit(b *pkt.Buf, _ []byte, _ netif.RxMeta) error { return d.dev.Transmit(b) }

func (d *Device) receive(frame []byte, meta netif.RxMeta) {
	if d.rx == nil {
		d.deliver(nil, frame, meta)
		return
	}
	d.rx.input(nil, frame, meta)
}

func (d *Device) deliver(b *pkt.Buf, raw []byte, meta netif.RxMeta) error {
	if raw == nil {
		raw = b.Bytes()
	}
	if h := d.handler.Load(); h != nil {
		(*h)(raw, meta)
	}
	return nil
}

// SetHandler implements netif.Device.SetHandler.
func (d *Device) SetHandler(h netif.Handler) {
	if h == nil {
		d.handler.Store(nil)
		d.dev.SetHandler(nil)
		return
	}
	d.handler.Store(&h)
	d.dev.SetHandler(d.input)
}

// SetTxRoom implements netif.TxRoomNotifier: the wrapped device's
// notification, if it has one. A frame the injector held (delay,
// reordering) and the device then refused is lost on the wire, as a frame
// dropped by a full queue further on would be.
func (d *Device) SetTxRoom(f func()) bool {
	if n, ok := d.dev.(netif.TxRoomNotifier); ok {
		return n.SetTxRoom(f)
	}
	return false
}

// Faults returns the fault counters of both directions. (Stats is the
// wrapped device's netif.Stats.)
func (d *Device) Faults() Stats {
	var s Stats
	if d.tx != nil {
		s.Tx = d.tx.counters()
	}
	if d.rx != nil {
		s.Rx = d.rx.counters()
	}
	return s
}

// MAC implements netif.Device.MAC.
func (d *Device) MAC() inet.MAC { return d.dev.MAC() }

// MTU implements netif.Device.MTU.
func (d *Device) MTU() int { return d.dev.MTU() }

// Offloads implements netif.Device.Offloads: the wrapped device's. Large
// frames are impaired whole, as a burst of segments that share one fate.
// A frame that is corrupted has its partial checksum completed first (the
// sender's device computed it before the wire flipped a bit), and a
// received frame that is corrupted loses CsumVerified, so the stack's own
// checks see every corruption.
func (d *Device) Offloads() netif.Offloads { return d.dev.Offloads() }

// Headroom implements netif.Device.Headroom.
func (d *Device) Headroom() int { return d.dev.Headroom() }

// LinkUp implements netif.Device.LinkUp.
func (d *Device) LinkUp() bool { return d.dev.LinkUp() }

// Stats implements netif.Device.Stats: the wrapped device's counters.
func (d *Device) Stats() netif.Stats { return d.dev.Stats() }

// Close implements netif.Device.Close. Held frames are dropped.
func (d *Device) Close() error {
	d.closed.Store(true)
	if d.tx != nil {
		d.tx.close()
	}
	if d.rx != nil {
		d.rx.close()
	}
	return d.dev.Close()
}
