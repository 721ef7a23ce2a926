package enet

// Device: the netif.Device over a port (the tamago ENET, or a fake in tests).

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// Frame sizes, without the 4-byte FCS the MAC adds and strips.
const (
	// MTU is the largest Ethernet payload.
	MTU = 1500
	// MaxFrameLen is the largest frame Transmit accepts: header plus MTU.
	MaxFrameLen = netif.EthernetHeaderLen + MTU
	// MinFrameLen is the IEEE 802.3 minimum frame without FCS. Shorter
	// frames are zero-padded to it in the transmit scratch buffer.
	MinFrameLen = 60
	// rxBudget bounds how many frames one drain hands up before yielding
	// to other goroutines (the stack and the applications).
	rxBudget = 32
	// txSlack lets tamago's ENET.Tx round the frame up to 8 bytes inside
	// our scratch buffer instead of reallocating it.
	txSlack = 8
)

// ErrRunt is returned by Transmit for a frame shorter than an Ethernet
// header.
var ErrRunt = errors.New("enet: frame shorter than an Ethernet header")

// port is what Device needs from the controller. Every method is called
// from one goroutine at a time: Tx, TxReady and TxErrors under the transmit
// lock, Rx, RxErrors and AckRx from the receive goroutine only.
type port interface {
	// Tx queues one frame for transmission and has copied it on return.
	Tx(frame []byte)
	// TxReady reports whether a transmit descriptor is free.
	TxReady() bool
	// Rx returns the next received frame, or nil. The frame is the
	// caller's to keep.
	Rx() []byte
	// RxErrors is the running count of frames the MAC rejected (it may
	// wrap).
	RxErrors() uint32
	// TxErrors is the running count of transmit errors the MAC reported
	// (it may wrap).
	TxErrors() uint32
	// AckRx clears the receive event.
	AckRx()
	// EnableRxIRQ unmasks (true) or masks (false) the receive interrupt.
	// It is called from the interrupt handler as well.
	EnableRxIRQ(on bool)
	// LinkUp reports the PHY link state.
	LinkUp() bool
	// SetGroupHash writes the 64-bit multicast group hash table
	// (GAUR:GALR); it may be called from any goroutine, at any time.
	SetGroupHash(high, low uint32)
}

// Device is an ENET controller as a netif.Device.
type Device struct {
	port port
	mac  inet.MAC
	ctr  netif.Counters

	handler atomic.Pointer[netif.Handler]
	closed  atomic.Bool

	txMu   sync.Mutex
	txBuf  []byte // transmit scratch: the frame is gathered here, then copied to DMA by the port
	txErrs uint32 // last port.TxErrors seen; guarded by txMu

	rxErrs  uint32        // last port.RxErrors seen; receive goroutine only
	wake    chan struct{} // interrupt or kick -> receive goroutine
	done    chan struct{} // closed by Close
	stopped chan struct{} // closed when the receive goroutine returns
	once    sync.Once
}

// newDevice wraps p. The caller starts the receive goroutine with
// go d.serve().
func newDevice(p port, mac inet.MAC) *Device {
	return &Device{
		port:    p,
		mac:     mac,
		txBuf:   make([]byte, MaxFrameLen+txSlack),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
}

// MAC implements netif.Device.MAC.
func (d *Device) MAC() inet.MAC { return d.mac }

// MTU implements netif.Device.MTU.
func (d *Device) MTU() int { return MTU }

// Headroom implements netif.Device.Headroom. The ENET takes the bare
// Ethernet frame.
func (d *Device) Headroom() int { return 0 }

// Offloads implements netif.Device.Offloads: the ENET checksum and
// segmentation accelerators are not used.
func (d *Device) Offloads() netif.Offloads { return netif.Offloads{} }

// LinkUp implements netif.Device.LinkUp. It asks the PHY over MDIO, which
// in tamago also clears the pending receive event, so it wakes the receive
// goroutine to make sure no frame waits for the next interrupt.
func (d *Device) LinkUp() bool {
	if d.closed.Load() {
		return false
	}
	up := d.port.LinkUp()
	d.kick()
	return up
}

// SetHandler implements netif.Device.SetHandler.
func (d *Device) SetHandler(h netif.Handler) {
	if h == nil {
		d.handler.Store(nil)
		return
	}
	d.handler.Store(&h)
}

// Stats implements netif.Device.Stats.
func (d *Device) Stats() netif.Stats {
	d.txMu.Lock()
	d.collectTxErrors()
	d.txMu.Unlock()
	return d.ctr.Snapshot()
}

// collectTxErrors adds the transmit errors the port saw since the last
// call to TxErrors. The caller holds txMu.
func (d *Device) collectTxErrors() {
	if e := d.port.TxErrors(); e != d.txErrs {
		d.ctr.TxErrors.Add(uint64(e - d.txErrs))
		d.txErrs = e
	}
}

// Transmit implements netif.Device.Transmit. The frame, attachments
// included, is gathered into a scratch buffer (padded to MinFrameLen) that
// the port copies into a DMA descriptor before it returns. A full transmit
// ring gives netif.ErrBusy at once.
func (d *Device) Transmit(b *pkt.Buf) error {
	if d.closed.Load() {
		return netif.ErrClosed
	}
	n := b.Len()
	switch {
	case n > MaxFrameLen:
		d.ctr.TxDropped.Add(1)
		return netif.ErrTooBig
	case n < netif.EthernetHeaderLen:
		d.ctr.TxDropped.Add(1)
		return ErrRunt
	}

	d.txMu.Lock()
	defer d.txMu.Unlock()
	d.collectTxErrors()
	if !d.port.TxReady() {
		d.ctr.TxDropped.Add(1)
		return netif.ErrBusy
	}
	f := d.txBuf[:max(n, MinFrameLen)]
	b.CopyTo(f)
	clear(f[n:])
	d.port.Tx(f)
	d.ctr.CountTx(n)
	return nil
}

// Close implements netif.Device.Close: Transmit then fails with
// netif.ErrClosed, the receive interrupt is masked and the receive
// goroutine returns. The MAC itself stays enabled (tamago has no stop).
func (d *Device) Close() error {
	d.once.Do(func() {
		d.closed.Store(true)
		d.port.EnableRxIRQ(false)
		close(d.done)
	})
	return nil
}

// Interrupt services the ENET receive interrupt: it masks the event and
// wakes the receive goroutine. It never blocks, so the board's interrupt
// dispatcher calls it directly.
func (d *Device) Interrupt() {
	d.port.EnableRxIRQ(false)
	d.kick()
}

func (d *Device) kick() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// serve is the receive goroutine.
func (d *Device) serve() {
	defer close(d.stopped)
	for {
		select {
		case <-d.wake:
		case <-d.done:
			return
		}
		for {
			// Acknowledge first: a frame landing from now on sets
			// the event again (IMX6ULLRM 22.5.1, EIR is write 1 to
			// clear).
			d.port.AckRx()
			if !d.poll(rxBudget) {
				break
			}
			runtime.Gosched()
			if d.closed.Load() {
				return
			}
		}
		if d.closed.Load() {
			return
		}
		d.port.EnableRxIRQ(true)
	}
}

// poll hands up to budget frames to the handler and reports whether the
// ring may hold more.
func (d *Device) poll(budget int) (more bool) {
	for range budget {
		f := d.port.Rx()
		if f == nil {
			// nil is also what a rejected frame gives; the error
			// count tells the two apart.
			e := d.port.RxErrors()
			if e == d.rxErrs {
				return false
			}
			d.ctr.RxErrors.Add(uint64(e - d.rxErrs))
			d.rxErrs = e
			continue
		}
		d.deliver(f)
	}
	return true
}

func (d *Device) deliver(f []byte) {
	if len(f) < netif.EthernetHeaderLen {
		d.ctr.RxDropped.Add(1)
		return
	}
	h := d.handler.Load()
	if h == nil {
		d.ctr.RxDropped.Add(1)
		return
	}
	(*h)(f, netif.RxMeta{})
	d.ctr.CountRx(len(f))
}
