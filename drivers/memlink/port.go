package memlink

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// Port implements netif.Device and netif.TxRoomNotifier (checked at
// compile time).
var (
	_ netif.Device         = (*Port)(nil)
	_ netif.TxRoomNotifier = (*Port)(nil)
)

// ErrShortFrame is returned by Transmit for a frame shorter than an Ethernet
// header.
var ErrShortFrame = errors.New("memlink: frame shorter than an Ethernet header")

// ErrNoOffload is returned by Transmit for a frame that asks for an offload
// the port does not do (Config.Offload is off).
var ErrNoOffload = errors.New("memlink: offload asked of a port without offloads")

// spinRounds is how many times an idle delivery goroutine yields before it
// sleeps.
const spinRounds = 32

// Port is one switch port. It implements netif.Device.
type Port struct {
	sw  *Switch
	mac inet.MAC
	mtu int

	handler atomic.Pointer[netif.Handler]
	room    atomic.Pointer[func()] // SetTxRoom
	ctr     netif.Counters
	up      atomic.Bool
	closed  atomic.Bool

	// Backpressure: blocked is set when a receiving ring refused one of
	// this port's frames (ErrBusy); that ring's consumer clears it when
	// the ring has drained and sets roomDue, which this port's delivery
	// goroutine answers by calling room.
	blocked atomic.Bool
	roomDue atomic.Bool

	closeOnce sync.Once
	done      chan struct{} // closed by Close: stop delivering
	exited    chan struct{} // closed by the delivery goroutine on exit

	off netif.Offloads // Config.Offload
	rx  *ring
}

// Offload limits: the largest datagram a TSO frame carries (IPv4 total
// length; IPv6 payload length plus its header), the largest frame a port
// then takes, and the slab that holds a port's queued frames: room for
// a 256 KiB window of 64 KiB frames and the ACKs between them.
const (
	tso4Max       = 65535
	tso6Max       = 65535 + 40
	largeFrame    = tso6Max + netif.EthernetHeaderLen
	largeSlabSize = 1 << 20
)

func newPort(s *Switch, mac inet.MAC, mtu, slots int) *Port {
	frame := mtu + netif.EthernetHeaderLen
	slab := slots * frame
	var off netif.Offloads
	if s.cfg.Offload {
		off = netif.Offloads{TxChecksum: true, TSO4Max: tso4Max, TSO6Max: tso6Max, RxChecksum: true, LargeReceive: largeFrame}
		frame, slab = largeFrame, max(slab, largeSlabSize)
	}
	p := &Port{
		sw:     s,
		mac:    mac,
		mtu:    mtu,
		off:    off,
		done:   make(chan struct{}),
		exited: make(chan struct{}),
		rx:     newRing(slots, frame, slab),
	}
	p.up.Store(true)
	return p
}

// Offloads implements netif.Device.Offloads: none, or with Config.Offload
// checksum and segmentation offload both ways, as a virtio-net device
// whose host passes TSO frames whole to another guest (Linux's veth).
func (p *Port) Offloads() netif.Offloads { return p.off }

// MAC implements netif.Device.MAC.
func (p *Port) MAC() inet.MAC { return p.mac }

// MTU implements netif.Device.MTU.
func (p *Port) MTU() int { return p.mtu }

// Headroom implements netif.Device.Headroom; the link has no device header.
func (p *Port) Headroom() int { return 0 }

// LinkUp implements netif.Device.LinkUp. A port is up from creation until
// Close or SetLinkUp(false).
func (p *Port) LinkUp() bool { return p.up.Load() && !p.closed.Load() }

// SetLinkUp pulls the virtual cable (false) or plugs it back in (true). A
// down port neither sends (Transmit returns netif.ErrLinkDown) nor receives.
func (p *Port) SetLinkUp(up bool) { p.up.Store(up) }

// SetHandler implements netif.Device.SetHandler.
func (p *Port) SetHandler(h netif.Handler) {
	if h == nil {
		p.handler.Store(nil)
		return
	}
	p.handler.Store(&h)
}

// SetTxRoom implements netif.TxRoomNotifier. After Transmit returned
// ErrBusy (Config.Backpressure), f runs on this port's delivery goroutine,
// between received frames, once the ring that refused the frame has
// drained to half of its frames and half of its bytes.
func (p *Port) SetTxRoom(f func()) bool {
	if f == nil {
		p.room.Store(nil)
	} else {
		p.room.Store(&f)
	}
	return true
}

// Stats implements netif.Device.Stats.
func (p *Port) Stats() netif.Stats { return p.ctr.Snapshot() }

// Transmit implements netif.Device.Transmit. The frame is copied into the
// receiving ports' rings before Transmit returns. With Config.Offload a
// TSO frame is carried whole and a partial checksum is left as it is: the
// receiver is told the checksum needs no check, as the frame never
// crossed a wire.
func (p *Port) Transmit(b *pkt.Buf) error {
	if p.closed.Load() {
		return netif.ErrClosed
	}
	if !p.up.Load() {
		p.ctr.TxDropped.Add(1)
		return netif.ErrLinkDown
	}
	n := b.Len()
	o := b.Offload()
	if n > p.maxTx(o) {
		p.ctr.TxDropped.Add(1)
		return netif.ErrTooBig
	}
	var meta netif.RxMeta
	if o.NeedsCsum || o.GSO != pkt.GSONone {
		if !p.off.TxChecksum {
			p.ctr.TxErrors.Add(1)
			return ErrNoOffload
		}
		meta.CsumVerified = o.NeedsCsum
		if o.GSO != pkt.GSONone && n > p.mtu+netif.EthernetHeaderLen {
			meta.SegSize = uint16(o.GSOSize)
		}
	}
	if n < netif.EthernetHeaderLen {
		p.ctr.TxErrors.Add(1)
		return ErrShortFrame
	}
	var dst, src inet.MAC
	if h := b.Bytes(); len(h) >= 12 {
		dst, src = inet.MAC(h[0:6]), inet.MAC(h[6:12])
	} else {
		var hdr [12]byte
		b.CopyTo(hdr[:]) // the header may, in principle, be split across attachments
		dst, src = inet.MAC(hdr[0:6]), inet.MAC(hdr[6:12])
	}
	p.sw.learn(src, p)
	t := p.sw.tab.Load()
	if !dst.IsMulticast() {
		if q := t.lookup(dst); q != nil {
			if q != p && !q.enqueue(b, n, meta) && p.sw.cfg.Backpressure {
				// Ask q's consumer for a room notification, then look
				// once more: it may have drained the ring before it
				// could see the request (the same Dekker-style
				// handshake as ring.push and ring.wait).
				p.blocked.Store(true)
				q.rx.wantRoom.Store(true)
				if !q.enqueue(b, n, meta) {
					p.ctr.TxDropped.Add(1)
					return netif.ErrBusy
				}
			}
			p.ctr.CountTx(n)
			return nil
		}
	}
	for _, q := range t.ports {
		if q != p {
			q.enqueue(b, n, meta)
		}
	}
	p.ctr.CountTx(n)
	return nil
}

// maxTx is the largest frame Transmit takes with offloads o: the MTU's,
// or with TSO the largest datagram the port segments.
func (p *Port) maxTx(o pkt.Offload) int {
	switch o.GSO {
	case pkt.GSOTCPv4:
		return max(p.off.TSO4Max, p.mtu) + netif.EthernetHeaderLen
	case pkt.GSOTCPv6:
		return max(p.off.TSO6Max, p.mtu) + netif.EthernetHeaderLen
	}
	return p.mtu + netif.EthernetHeaderLen
}

// enqueue offers a frame to q's ring. It reports false only when the ring was
// full; under Backpressure such a frame is the sender's to count.
func (q *Port) enqueue(b *pkt.Buf, n int, meta netif.RxMeta) bool {
	if q.closed.Load() || !q.up.Load() {
		return true // a dead port swallows frames, like an unplugged cable
	}
	if n > q.rx.frame {
		q.ctr.RxDropped.Add(1)
		q.sw.dropped.Add(1)
		return true
	}
	if q.rx.push(b, n, meta) {
		return true
	}
	if !q.sw.cfg.Backpressure {
		q.ctr.RxDropped.Add(1)
		q.sw.dropped.Add(1)
	}
	return false
}

// deliver is the port's delivery goroutine: it hands queued frames to the
// handler, one at a time and in order.
func (p *Port) deliver() {
	defer close(p.exited)
	r := p.rx
	head := r.head.Load()
	for {
		if p.roomDue.Load() && p.roomDue.Swap(false) {
			if f := p.room.Load(); f != nil {
				(*f)()
			}
		}
		tail := r.tail.Load()
		for spin := 0; head == tail && spin < spinRounds && !p.roomDue.Load(); spin++ {
			// A sender on another CPU usually has the next frame ready
			// within microseconds; yielding a few times first avoids the
			// futex sleep and wakeup that would cost both sides more.
			runtime.Gosched()
			tail = r.tail.Load()
		}
		if head == tail {
			if !r.wait(head, p.done, &p.roomDue) {
				return
			}
			continue
		}
		for ; head != tail; head++ {
			if p.closed.Load() {
				return
			}
			f, meta := r.slot(head)
			if h := p.handler.Load(); h != nil {
				p.ctr.CountRx(len(f))
				meta.More = head+1 != tail // the batch: what was queued
				(*h)(f, meta)
			} else {
				p.ctr.RxDropped.Add(1)
			}
			r.head.Store(head + 1) // free the slot only now: f was lent
			if r.wantRoom.Load() {
				p.freed(head + 1)
			}
		}
	}
}

// freed runs on p's delivery goroutine after it freed the slots up to head
// while a sender waits for room in p's ring (Config.Backpressure): once
// the ring is down to half of its frames and half of its bytes, it tells
// every blocked port. A port blocked on another ring is told too, retries,
// and is refused again; that costs it a retry, never a lost notification.
func (p *Port) freed(head uint64) {
	r := p.rx
	if !r.halfFree(head) || !r.wantRoom.Swap(false) {
		return
	}
	for _, s := range p.sw.tab.Load().ports {
		if s.blocked.Load() && s.blocked.Swap(false) {
			s.roomDue.Store(true)
			s.rx.kick()
		}
	}
}

// Close implements netif.Device.Close: it detaches the port and waits for
// its delivery goroutine to end, dropping queued frames. It must not be
// called from the port's own handler.
func (p *Port) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		p.sw.remove(p)
		close(p.done)
		<-p.exited
	})
	return nil
}
