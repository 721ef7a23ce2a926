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
	// RxQueueSize is the receive ring size (power of two; default 128, or
	// 256 with large receive, clamped to the device maximum).
	RxQueueSize int
	// TxQueueSize is the transmit ring size (power of two; default 128).
	TxQueueSize int
	// MAC is used when the device does not offer VIRTIO_NET_F_MAC.
	MAC inet.MAC
	// MaxMTU caps the MTU taken from the device (default 1500).
	MaxMTU int
	// Disable lists offload features (NetOffloadFeatures) not to
	// negotiate even when the device offers them; the features that
	// depend on one (TSO on checksum offload, large receive on
	// mergeable buffers) go with it. NetOffloadFeatures turns every
	// offload off.
	Disable uint64
}

// Net is a virtio-net device (virtio 1.1 §5.1). It implements
// netif.Device.
//
// Receive: every receive descriptor owns one fixed DMA buffer, and the
// buffers lie in ring order in one DMA block. Poll hands each completed
// frame to the handler in place (lent) and puts its buffers straight back
// on the ring; a frame that spans several buffers (mergeable buffers) is
// lent in place too when they are consecutive, and is gathered into one
// buffer otherwise. Transmit: Transmit copies the frame (the virtio-net
// header, the contiguous bytes, then the attached payload) into a DMA ring
// of variable-size frames, one descriptor per frame, because the netif
// contract lets the caller reuse the Buf as soon as Transmit returns.
//
// Offloads (netif.Offloads) follow the negotiated features: checksum
// offload both ways (CSUM, GUEST_CSUM), TSO (HOST_TSO4/6), large receive
// (GUEST_TSO4/6 with MRG_RXBUF), and event index to suppress
// notifications and interrupts.
type Net struct {
	t        *Transport
	mac      inet.MAC
	mtu      int
	hasState bool // VIRTIO_NET_F_STATUS negotiated
	off      netif.Offloads

	rx rxQueue
	tx txQueue

	link      atomic.Bool
	closed    atomic.Bool
	handler   atomic.Pointer[netif.Handler]
	room      atomic.Pointer[func()] // SetTxRoom
	wantRoom  atomic.Bool            // Transmit refused a frame: tell room when there is room
	ctr       netif.Counters
	malformed atomic.Uint64
	gathered  atomic.Uint64
}

var (
	_ netif.Device         = (*Net)(nil)
	_ netif.TxRoomNotifier = (*Net)(nil)
)

// Receive and transmit buffer sizes. Without mergeable buffers each
// receive buffer holds a whole frame: header, Ethernet header, MTU and a
// VLAN tag (§5.1.6.3.1). With them, buffers are mrgBufSize bytes and a
// frame takes as many as it needs, up to maxLargeFrame with large
// receive. A TSO frame is at most a 64 KiB IPv6 datagram plus headers.
const (
	mrgBufSize    = 2048
	maxLargeFrame = netif.EthernetHeaderLen + 40 + 65535
	tso4Max       = 65535
	tso6Max       = 65535 + 40
)

// NewNet brings up the virtio-net device behind t: it negotiates
// VERSION_1 plus MAC, MTU and STATUS when offered, and the offloads of
// NetOffloadFeatures the device offers and cfg.Disable leaves, sets up
// the receive and transmit queues, fills the receive ring and sets
// DRIVER_OK. On error the device is left FAILED or reset.
func NewNet(t *Transport, mem Memory, cfg NetConfig) (*Net, error) {
	if t.DeviceID != DeviceNet {
		return nil, errors.New("virtio: not a network device")
	}
	want := FeatureVersion1 | FeatureNetMAC | FeatureNetMTU | FeatureNetStatus | NetOffloadFeatures&^cfg.Disable
	choose := func(offered uint64) uint64 { return netFeatures(offered & want) }
	if err := t.NegotiateFunc(choose, FeatureVersion1); err != nil {
		return nil, err
	}
	f := t.Features
	n := &Net{t: t, hasState: f&FeatureNetStatus != 0}

	n.mtu = 1500
	if cfg.MaxMTU > 0 {
		n.mtu = cfg.MaxMTU
	}
	if f&FeatureNetMTU != 0 {
		if m := int(t.config16(netCfgMTU)); m >= 68 && m < n.mtu {
			n.mtu = m
		}
	}
	n.off = netOffloads(f)
	frameMax := netif.EthernetHeaderLen + 4 + n.mtu
	rxBuf := max((NetHeaderLen+frameMax+63)&^63, 1536)
	rxDef := 128
	if f&FeatureNetMrgRxbuf != 0 {
		rxBuf = mrgBufSize
		if n.off.LargeReceive > 0 {
			frameMax, rxDef = n.off.LargeReceive, 256
		}
	}
	txFrame := max((NetHeaderLen+netif.EthernetHeaderLen+4+n.mtu+63)&^63, 1536)
	if n.off.TSO4Max > 0 || n.off.TSO6Max > 0 {
		txFrame = (NetHeaderLen + maxLargeFrame + 63) &^ 63
	}

	if f&FeatureNetMAC != 0 {
		t.configBytes(netCfgMAC, n.mac[:])
	} else if !cfg.MAC.IsZero() {
		n.mac = cfg.MAC
	} else {
		t.Fail()
		return nil, errors.New("virtio: device has no MAC and NetConfig.MAC is unset")
	}

	rxSize := queueSize(cfg.RxQueueSize, rxDef, t.QueueMax(netRxQueue))
	txSize := queueSize(cfg.TxQueueSize, 128, t.QueueMax(netTxQueue))
	if rxSize == 0 || txSize == 0 {
		t.Fail()
		return nil, ErrNoQueue
	}
	eventIdx := f&FeatureEventIdx != 0
	if err := n.rx.init(mem, rxSize, rxBuf, frameMax, f&FeatureNetMrgRxbuf != 0, eventIdx); err != nil {
		t.Fail()
		return nil, err
	}
	if err := n.tx.init(mem, txSize, txFrame, eventIdx); err != nil {
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

// netOffloads are the offloads the negotiated features give the stack.
func netOffloads(f uint64) netif.Offloads {
	var o netif.Offloads
	o.TxChecksum = f&FeatureNetCsum != 0
	if f&FeatureNetHostTSO4 != 0 {
		o.TSO4Max = tso4Max
	}
	if f&FeatureNetHostTSO6 != 0 {
		o.TSO6Max = tso6Max
	}
	o.RxChecksum = f&FeatureNetGuestCsum != 0
	if f&(FeatureNetGuestTSO4|FeatureNetGuestTSO6) != 0 {
		o.LargeReceive = maxLargeFrame
	}
	return o
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

// Offloads implements netif.Device.Offloads: what the negotiated features
// give (see Net).
func (n *Net) Offloads() netif.Offloads { return n.off }

// Features returns the negotiated feature bits.
func (n *Net) Features() uint64 { return n.t.Features }

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
// descriptor id or length, or a bad virtio-net header. They are also
// counted in RxErrors or TxErrors.
func (n *Net) Malformed() uint64 { return n.malformed.Load() }

// Gathered is how many received frames spanned buffers that were not
// consecutive in memory and so were copied into one before delivery.
func (n *Net) Gathered() uint64 { return n.gathered.Load() }

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
