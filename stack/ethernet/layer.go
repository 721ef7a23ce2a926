package ethernet

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// Handler receives the payload of a frame of a registered EtherType and
// what the device said about the frame. The payload is valid only during
// the call.
type Handler func(src, dst inet.MAC, payload []byte, meta netif.RxMeta)

// Stats counts frames. Drops are split by reason.
type Stats struct {
	RxFrames      uint64 // frames given to Input
	RxDelivered   uint64 // frames handed to a registered handler
	RxRunt        uint64 // shorter than the header
	RxNotForUs    uint64 // unicast to another MAC, or multicast to a group not joined
	RxBadSource   uint64 // source MAC is multicast (IEEE 802 §8.2.2)
	RxUnknownType uint64 // no handler for the EtherType
	RxVLAN        uint64 // 802.1Q / 802.1ad tagged (not supported)
	TxFrames      uint64 // frames accepted by the device
	TxErrors      uint64 // Prepend or Transmit failed
	FilterErrors  uint64 // the device refused a multicast filter (netif.MulticastFilter)
}

type binding struct {
	etype uint16
	h     Handler
}

// Layer is the Ethernet layer of one device. Every method must be called
// with the stack lock held (docs/INTERNALS.md); Layer takes no lock.
type Layer struct {
	dev      netif.Device
	mac      inet.MAC
	groups   groups     // multicast groups accepted (groups.go)
	scratch  []inet.MAC // the set handed to a filtering device
	handlers []binding  // few entries; a linear scan beats a map
	stats    Stats
}

// New returns the layer for dev. It does not install itself as dev's
// handler: the stack constructor does, wrapping Input with the lock.
func New(dev netif.Device) *Layer {
	return &Layer{dev: dev, mac: dev.MAC()}
}

// Register makes h receive frames of EtherType etype, replacing any
// earlier handler for it. A nil h unregisters.
func (l *Layer) Register(etype uint16, h Handler) {
	for i := range l.handlers {
		if l.handlers[i].etype == etype {
			if h == nil {
				l.handlers = append(l.handlers[:i], l.handlers[i+1:]...)
			} else {
				l.handlers[i].h = h
			}
			return
		}
	}
	if h != nil {
		l.handlers = append(l.handlers, binding{etype, h})
	}
}

// Input handles one received frame: it checks the length and the
// destination and hands the payload to the EtherType's handler. Anything
// else is counted and dropped.
func (l *Layer) Input(frame []byte, meta netif.RxMeta) {
	l.stats.RxFrames++
	f, err := ParseFrame(frame)
	if err != nil {
		l.stats.RxRunt++
		return
	}
	dst := f.Dst()
	if dst != l.mac && !dst.IsBroadcast() && !(dst.IsMulticast() && l.groups.find(dst) >= 0) {
		l.stats.RxNotForUs++
		return
	}
	src := f.Src()
	if src.IsMulticast() {
		l.stats.RxBadSource++
		return
	}
	if f.IsTagged() {
		l.stats.RxVLAN++
		return
	}
	t := f.Type()
	for i := range l.handlers {
		if l.handlers[i].etype == t {
			l.stats.RxDelivered++
			l.handlers[i].h(src, dst, f.Payload(), meta)
			return
		}
	}
	l.stats.RxUnknownType++
}

// Write prepends an Ethernet header from our MAC to dst with EtherType
// etype and transmits b. b needs Headroom() bytes of headroom when its
// EtherType payload starts.
func (l *Layer) Write(dst inet.MAC, etype uint16, b *pkt.Buf) error {
	h, err := b.Prepend(HeaderLen)
	if err != nil {
		l.stats.TxErrors++
		return err
	}
	f := Fields{Dst: dst, Src: l.mac, Type: etype}
	f.Encode(h)
	if err := l.dev.Transmit(b); err != nil {
		l.stats.TxErrors++
		return err
	}
	l.stats.TxFrames++
	return nil
}

// MAC is the device's MAC address.
func (l *Layer) MAC() inet.MAC { return l.mac }

// MTU is the largest payload of one frame (the device MTU, 1500 on
// Ethernet).
func (l *Layer) MTU() int { return l.dev.MTU() }

// Offloads are the device's (netif.Offloads).
func (l *Layer) Offloads() netif.Offloads { return l.dev.Offloads() }

// Headroom is the headroom a Buf needs in front of an Ethernet payload: the
// device's own plus HeaderLen.
func (l *Layer) Headroom() int { return l.dev.Headroom() + HeaderLen }

// StatsLocked returns a snapshot of the counters.
func (l *Layer) StatsLocked() Stats { return l.stats }
