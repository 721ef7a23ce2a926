// virtio-net receive path: used-ring processing, mergeable buffers,
// receive offloads, lending, refill (virtio 1.1 §5.1.6.3-4).

package virtio

import (
	"encoding/binary"
	"sync"

	"github.com/mirago/mirago/stack/netif"
)

// rxQueue is the receive queue: descriptor i always describes buffer i,
// and buffer i+1 follows buffer i in memory.
type rxQueue struct {
	mu        sync.Mutex
	r         *ring
	bufs      []byte // size × bufLen bytes of DMA memory
	bufLen    int
	posted    []bool // descriptor i is on the ring, owned by the device
	mergeable bool   // VIRTIO_NET_F_MRG_RXBUF: a frame may span buffers
	frameMax  int    // the largest frame taken, Ethernet header included
	gather    []byte // a frame over buffers not consecutive in memory, allocated on first use
	ids       []uint16
	more      bool // the last frame handed up was marked More
}

// minRxQueue is the smallest receive ring init falls back to when the DMA
// memory is short: a 64 KiB frame in 2 KiB buffers takes 33.
const minRxQueue = 64

func (q *rxQueue) init(mem Memory, size, bufLen, frameMax int, mergeable, eventIdx bool) error {
	// The buffers first: with little DMA memory (a small machine) a
	// mergeable ring takes half as many, down to minRxQueue, rather than
	// fail the device.
	bufs, bus, err := mem.Alloc(size*bufLen, 64)
	for err != nil && mergeable && size/2 >= minRxQueue {
		size /= 2
		bufs, bus, err = mem.Alloc(size*bufLen, 64)
	}
	if err != nil {
		return err
	}
	r, err := newRing(mem, size)
	if err != nil {
		return err
	}
	r.eventIdx = eventIdx
	q.r, q.bufs, q.bufLen = r, bufs, bufLen
	q.mergeable, q.frameMax = mergeable, frameMax
	q.posted = make([]bool, size)
	q.ids = make([]uint16, 0, size)
	for i := range size {
		id := uint16(i)
		r.setDesc(id, bus+uint64(i*bufLen), uint32(bufLen), descFWrite, 0)
		r.push(id)
		q.posted[i] = true
	}
	r.kickedIdx = r.availIdx // NewNet notifies once DRIVER_OK is set
	r.publish()
	r.setUsedEvent(0)
	return nil
}

func (q *rxQueue) buf(id uint16) []byte {
	o := int(id) * q.bufLen
	return q.bufs[o : o+q.bufLen : o+q.bufLen]
}

// Poll hands every frame the device has completed to the handler, lending
// the DMA buffers for the duration of the call, and puts the buffers back
// on the receive ring. It is the receive half of an interrupt: used-buffer
// interrupts stay off while it works, and it turns them back on only when
// the ring is empty (with event index, so that the device interrupts once
// for the next frame, not once per frame), so that one interrupt drains a
// whole batch. It handles at most one ring's worth of entries per call and
// returns how many it consumed; the caller polls again while the result is
// non-zero. Poll is safe for concurrent use but is meant to be called from
// one goroutine, the one woken by the device interrupt. After Transmit
// refused a frame, Poll also reclaims transmit completions and calls the
// room function (SetTxRoom) once the ring has room.
func (n *Net) Poll() int {
	done := n.pollRx()
	if n.wantRoom.Load() {
		n.txRoom()
	}
	return done
}

func (n *Net) pollRx() int {
	q := &n.rx
	q.mu.Lock()
	defer q.mu.Unlock()
	if n.closed.Load() {
		return 0
	}
	var h netif.Handler
	if hp := n.handler.Load(); hp != nil {
		h = *hp
	}
	done := 0
	budget := int(q.r.size)
	q.r.interruptsOff()
	for {
		for done < budget && q.r.pending() > 0 {
			done += n.receive(q, h, budget-done)
		}
		if done >= budget || !q.r.interruptsOn() {
			break
		}
	}
	if q.more && h != nil {
		// The frame after the one marked More was dropped: end the
		// batch (netif.RxMeta.More).
		q.more = false
		h(nil, netif.RxMeta{})
	}
	if done > 0 && q.r.needNotify() {
		n.t.Notify(netRxQueue)
	}
	return done
}

// receive takes the next frame off the used ring (one entry, or with
// mergeable buffers as many as its header says), delivers it and requeues
// its buffers. It returns how many used entries it consumed. Entries with
// a bad id cannot be requeued (the buffer is not ours); they are only
// counted. room is how many more entries this Poll takes: the frame is
// marked netif.RxMeta.More when the next one is already on the used ring
// and within room.
func (n *Net) receive(q *rxQueue, h netif.Handler, room int) int {
	id, l, ok := n.takeUsed(q)
	if !ok {
		return 1
	}
	q.ids = append(q.ids[:0], id)
	defer n.requeue(q)
	first := q.buf(id)
	if l > uint32(len(first)) || l < NetHeaderLen {
		n.malformed.Add(1)
		n.ctr.RxErrors.Add(1)
		return 1
	}
	hdr := first[:NetHeaderLen]
	nb := 1
	if q.mergeable {
		nb = int(binary.LittleEndian.Uint16(hdr[hdrNumBuffers:]))
		// The device makes all the buffers of a frame used at once
		// (§5.1.6.4.2), so they must all be there.
		if nb == 0 || nb-1 > q.r.pending() {
			n.malformed.Add(1)
			n.ctr.RxErrors.Add(1)
			return 1
		}
	}
	frame := first[NetHeaderLen:l:l]
	if nb > 1 {
		var bad bool
		frame, bad = n.collect(q, frame, nb)
		if bad {
			return nb
		}
		if frame == nil {
			n.ctr.RxDropped.Add(1) // larger than frameMax
			return nb
		}
	}
	meta, ok := n.rxMeta(hdr, len(frame))
	switch {
	case !ok:
		n.malformed.Add(1)
		n.ctr.RxErrors.Add(1)
	case len(frame) < netif.EthernetHeaderLen:
		n.ctr.RxErrors.Add(1) // runt
	case len(frame) > q.frameMax || meta.SegSize == 0 && len(frame) > n.mtu+netif.EthernetHeaderLen+4:
		n.ctr.RxDropped.Add(1) // too large
	case h == nil:
		n.ctr.RxDropped.Add(1)
	default:
		n.ctr.CountRx(len(frame))
		meta.More = nb < room && q.r.pending() > 0
		q.more = meta.More
		h(frame, meta)
	}
	return nb
}

// takeUsed consumes the next used entry and checks that its id is a
// posted receive buffer.
func (n *Net) takeUsed(q *rxQueue) (uint16, uint32, bool) {
	id, l := q.r.usedElem(q.r.usedIdx)
	q.r.usedIdx++
	if id >= uint32(q.r.size) || !q.posted[id] {
		n.malformed.Add(1)
		n.ctr.RxErrors.Add(1)
		return 0, 0, false
	}
	q.posted[id] = false
	return uint16(id), l, true
}

// collect takes the other nb-1 buffers of a frame whose first part is
// head (in buffer q.ids[0]) and returns the whole frame: in place when the
// buffers are consecutive in memory and all but the last are full, else
// gathered into q.gather. It reports bad for a malformed entry, and
// returns a nil frame when the frame is larger than q.frameMax.
func (n *Net) collect(q *rxQueue, head []byte, nb int) (frame []byte, bad bool) {
	total := len(head)
	inPlace := len(head)+NetHeaderLen == q.bufLen
	var lastLen uint32
	for k := 1; k < nb; k++ {
		id, l, ok := n.takeUsed(q)
		if !ok {
			bad = true
			continue
		}
		q.ids = append(q.ids, id)
		if l > uint32(q.bufLen) {
			n.malformed.Add(1)
			n.ctr.RxErrors.Add(1)
			bad = true
		}
		inPlace = inPlace && id == q.ids[0]+uint16(k) && (k == nb-1 || int(l) == q.bufLen)
		total += int(l)
		lastLen = l
	}
	if bad || total > q.frameMax {
		return nil, bad
	}
	if inPlace {
		start := int(q.ids[0])*q.bufLen + NetHeaderLen
		end := int(q.ids[nb-1])*q.bufLen + int(lastLen)
		return q.bufs[start:end:end], false
	}
	if q.gather == nil {
		q.gather = make([]byte, q.frameMax)
	}
	m := copy(q.gather, head)
	for k := 1; k < nb; k++ {
		_, l := q.r.usedElem(q.r.usedIdx - uint16(nb-k))
		m += copy(q.gather[m:], q.buf(q.ids[k])[:l])
	}
	n.gathered.Add(1)
	return q.gather[:m:m], false
}

// requeue puts the buffers of the frame just handled back on the ring, in
// the order the device used them, which keeps the ring's buffers in
// memory order for the next lap.
func (n *Net) requeue(q *rxQueue) {
	for _, id := range q.ids {
		q.r.push(id)
		q.posted[id] = true
	}
	q.r.publish()
}

// rxMeta reads the receive offloads of a frame of length l from its
// virtio-net header (§5.1.6.4.1): a partial checksum (NEEDS_CSUM, whose
// place must lie inside the frame) or a verified one (DATA_VALID) with
// GUEST_CSUM, and a merged TCP segment with GUEST_TSO4/6. It reports
// false for what the negotiated features do not allow (DATA_VALID is
// ignored then, as harmless).
func (n *Net) rxMeta(hdr []byte, l int) (netif.RxMeta, bool) {
	var m netif.RxMeta
	f := n.t.Features
	le := binary.LittleEndian
	flags := hdr[hdrFlags]
	if flags&hdrFNeedsCsum != 0 {
		// A checksum still to be computed: we can only take it from a
		// device we told we would, and with its place inside the frame.
		start, off := int(le.Uint16(hdr[hdrCsumStart:])), int(le.Uint16(hdr[hdrCsumOffset:]))
		if f&FeatureNetGuestCsum == 0 || start+off+2 > l {
			return m, false
		}
		m.CsumVerified = true
	} else if flags&hdrFDataValid != 0 && f&FeatureNetGuestCsum != 0 {
		// Without GUEST_CSUM the flag is ignored, not trusted: QEMU
		// passes on the header a TAP gives it whatever was negotiated.
		m.CsumVerified = true
	}
	switch hdr[hdrGSOType] {
	case gsoNone:
		return m, true
	case gsoTCPv4:
		if f&FeatureNetGuestTSO4 == 0 {
			return m, false
		}
	case gsoTCPv6:
		if f&FeatureNetGuestTSO6 == 0 {
			return m, false
		}
	default:
		return m, false // UDP, or ECN, which we never accept
	}
	m.SegSize = le.Uint16(hdr[hdrGSOSize:])
	return m, m.SegSize != 0
}
