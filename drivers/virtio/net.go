// virtio-net device bring-up and the netif.Device methods (virtio 1.1 §5.1).

package virtio

import (
	"errors"
	"sync/atomic"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// NetHeaderLen is the size of struct virtio_net_hdr when VERSION_1 is
// negotiated: num_buffers is always present (virtio 1.1 §5.1.6).
const NetHeaderLen = 12

// Net queue indices (virtio 1.1 §5.1.2).
const (
	netRxQueue = 0
	netTxQueue = 1
)

// NetConfig configures a Net device. The zero value is usable.
type NetConfig struct {
	// RxQueueSize is the receive ring size (power of two; default 128,
	// clamped to the device maximum).
	RxQueueSize int
	// TxQueueSize is the transmit ring size (power of two; default 64).
	TxQueueSize int
	// MAC is used when the device does not offer VIRTIO_NET_F_MAC.
	MAC inet.MAC
	// MaxMTU caps the MTU taken from the device (default 1500).
	MaxMTU int
}

// Net is a virtio-net device (virtio 1.1 §5.1). It implements
// netif.Device.
//
// Receive: every receive descriptor owns one fixed DMA buffer; Poll hands
// each completed buffer to the handler in place (lent) and puts it straight
// back on the ring. Transmit: Transmit gathers the frame (the virtio-net
// header prepended in the Buf's headroom, the contiguous bytes, then the
// attached payload) into one DMA buffer per descriptor, because the netif
// contract lets the caller reuse the Buf as soon as Transmit returns.
type Net struct {
	t        *Transport
	mac      inet.MAC
	mtu      int
	bufSize  int
	hasState bool // VIRTIO_NET_F_STATUS negotiated

	rx rxQueue
	tx txQueue

	link      atomic.Bool
	closed    atomic.Bool
	handler   atomic.Pointer[netif.Handler]
	ctr       netif.Counters
	malformed atomic.Uint64
}

var _ netif.Device = (*Net)(nil)

// NewNet brings up the virtio-net device behind t: it negotiates
// VERSION_1 plus MAC, MTU and STATUS when offered, sets up the receive and
// transmit queues, fills the receive ring and sets DRIVER_OK. On error the
// device is left FAILED or reset.
func NewNet(t *Transport, mem Memory, cfg NetConfig) (*Net, error) {
	if t.DeviceID != DeviceNet {
		return nil, errors.New("virtio: not a network device")
	}
	want := FeatureVersion1 | FeatureNetMAC | FeatureNetMTU | FeatureNetStatus
	if err := t.Negotiate(want, FeatureVersion1); err != nil {
		return nil, err
	}
	n := &Net{t: t, hasState: t.Features&FeatureNetStatus != 0}

	n.mtu = 1500
	if cfg.MaxMTU > 0 {
		n.mtu = cfg.MaxMTU
	}
	if t.Features&FeatureNetMTU != 0 {
		if m := int(t.config16(netCfgMTU)); m >= 68 && m < n.mtu {
			n.mtu = m
		}
	}
	// Without mergeable buffers each receive buffer must hold a whole
	// frame: header, Ethernet header, MTU and a VLAN tag (§5.1.6.3.1).
	n.bufSize = (NetHeaderLen + netif.EthernetHeaderLen + 4 + n.mtu + 63) &^ 63
	if n.bufSize < 1536 {
		n.bufSize = 1536
	}

	if t.Features&FeatureNetMAC != 0 {
		t.configBytes(netCfgMAC, n.mac[:])
	} else if !cfg.MAC.IsZero() {
		n.mac = cfg.MAC
	} else {
		t.Fail()
		return nil, errors.New("virtio: device has no MAC and NetConfig.MAC is unset")
	}

	rxSize := queueSize(cfg.RxQueueSize, 128, t.QueueMax(netRxQueue))
	txSize := queueSize(cfg.TxQueueSize, 64, t.QueueMax(netTxQueue))
	if rxSize == 0 || txSize == 0 {
		t.Fail()
		return nil, ErrNoQueue
	}
	if err := n.rx.init(mem, rxSize, n.bufSize); err != nil {
		t.Fail()
		return nil, err
	}
	if err := n.tx.init(mem, txSize, n.bufSize); err != nil {
		t.Fail()
		return nil, err
	}
	if err := t.SetupQueue(netRxQueue, n.rx.r); err != nil {
		t.Fail()
		return nil, err
	}
	if err := t.SetupQueue(netTxQueue, n.tx.r); err != nil {
		t.Fail()
		return nil, err
	}
	n.refreshLink()
	t.DriverOK()
	t.Notify(netRxQueue)
	return n, nil
}

// queueSize picks the largest power of two no larger than the request (or
// def) and the device maximum.
func queueSize(req, def int, max uint32) int {
	if req <= 0 {
		req = def
	}
	if uint32(req) > max {
		req = int(max)
	}
	if req > 32768 {
		req = 32768
	}
	if req <= 0 {
		return 0
	}
	p := 1
	for p*2 <= req {
		p *= 2
	}
	return p
}

// MAC implements netif.Device.MAC.
func (n *Net) MAC() inet.MAC { return n.mac }

// MTU implements netif.Device.MTU.
func (n *Net) MTU() int { return n.mtu }

// Headroom implements netif.Device.Headroom: room for the virtio-net header.
func (n *Net) Headroom() int { return NetHeaderLen }

// Offloads implements netif.Device.Offloads.
func (n *Net) Offloads() netif.Offloads { return netif.Offloads{} }

// LinkUp implements netif.Device.LinkUp. Without VIRTIO_NET_F_STATUS the
// link is always up (§5.1.4.2).
func (n *Net) LinkUp() bool { return n.link.Load() }

// SetHandler implements netif.Device.SetHandler.
func (n *Net) SetHandler(h netif.Handler) {
	if h == nil {
		n.handler.Store(nil)
		return
	}
	n.handler.Store(&h)
}

// Stats implements netif.Device.Stats.
func (n *Net) Stats() netif.Stats { return n.ctr.Snapshot() }

// Malformed is how many used-ring entries the device returned with a bad
// descriptor id or length. They are also counted in RxErrors or TxErrors.
func (n *Net) Malformed() uint64 { return n.malformed.Load() }

// Close implements netif.Device.Close: it resets the device, which stops
// all DMA (§4.2.3.1.1), after which Transmit returns netif.ErrClosed.
func (n *Net) Close() error {
	n.rx.mu.Lock()
	n.tx.mu.Lock()
	defer n.rx.mu.Unlock()
	defer n.tx.mu.Unlock()
	if n.closed.Swap(true) {
		return nil
	}
	return n.t.Reset()
}

// AckInterrupt acknowledges the device interrupt and refreshes the link
// state on a configuration change. The board calls it from its interrupt
// service routine, then runs Poll (possibly from another goroutine). It
// returns the InterruptStatus bits.
func (n *Net) AckInterrupt() uint32 {
	s := n.t.AckInterrupt()
	if s&IntConfigChanged != 0 {
		n.refreshLink()
	}
	return s
}

// HandleInterrupt is AckInterrupt followed by Poll. It returns the number
// of frames received.
func (n *Net) HandleInterrupt() int {
	n.AckInterrupt()
	return n.Poll()
}

func (n *Net) refreshLink() {
	if !n.hasState {
		n.link.Store(true)
		return
	}
	n.link.Store(n.t.config16(netCfgStatus)&netStatusLinkUp != 0)
}
