// virtio-net transmit path: the virtio-net header with the transmit
// offloads, copy into a DMA ring, backpressure, completion reclaim (virtio
// 1.1 §5.1.6.2).

package virtio

import (
	"encoding/binary"
	"sync"

	"github.com/mirago/mirago/drivers/internal/bytering"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// txQueue is the transmit queue. Frames are packed into one DMA block in
// the order they are sent (drivers/internal/bytering), each described by
// one descriptor, so a 64 KiB TSO frame and a bare ACK each take what they
// need. A completed descriptor is free at once; the space of its frame is
// freed once every frame sent before it is complete too.
type txQueue struct {
	mu      sync.Mutex
	r       *ring
	slab    []byte
	bus     uint64
	wpos    uint64   // next free byte position in slab
	rpos    uint64   // start of the oldest frame in flight (wpos when none)
	free    []uint16 // stack of free descriptor ids
	sent    []bool   // descriptor i is owned by the device
	slot    []int    // descriptor i's entry in frames
	frames  []txFrame
	head, n int // the ring of frames: oldest entry and count
}

// txFrame is one frame in the DMA ring, in the order sent.
type txFrame struct {
	end  uint64 // byte position after the frame
	done bool   // the device completed it
}

func (q *txQueue) init(mem Memory, size, frame int, eventIdx bool) error {
	r, err := newRing(mem, size)
	if err != nil {
		return err
	}
	// Room for a full ring of frames the size of the MTU, and with TSO
	// for eight TSO frames, a send buffer's worth: a full ring refuses
	// the frame (ErrBusy), which TCP keeps until the ring has room again
	// (wantRoom). With little DMA memory it takes less, down to two TSO
	// frames (or 32 MTU-sized ones).
	slabLen := max(size*1536, 8*frame)
	slab, bus, err := mem.Alloc(slabLen, 64)
	for err != nil && slabLen/2 >= max(32*1536, 2*frame) {
		slabLen /= 2
		slab, bus, err = mem.Alloc(slabLen, 64)
	}
	if err != nil {
		return err
	}
	// Completions are reclaimed by Transmit: no interrupt needed, but
	// after a refusal (wantRoom). With event index the device ignores
	// the flag, and used_event is kept behind the completions instead
	// (reclaim).
	r.eventIdx = eventIdx
	r.availFlags = availFNoInterrupt
	r.publish()
	r.setUsedEvent(0xffff)
	q.r, q.slab, q.bus = r, slab, bus
	q.free = make([]uint16, 0, size)
	q.sent = make([]bool, size)
	q.slot = make([]int, size)
	q.frames = make([]txFrame, 2*size) // completions out of order leave gaps
	for i := size - 1; i >= 0; i-- {
		q.free = append(q.free, uint16(i))
	}
	return nil
}

// reclaim takes back every descriptor the device has finished with, and
// the space of every frame sent before the oldest one still in flight.
func (n *Net) reclaim(q *txQueue) {
	got := false
	for budget := int(q.r.size); budget > 0 && q.r.pending() > 0; budget-- {
		id, _ := q.r.usedElem(q.r.usedIdx)
		q.r.usedIdx++
		got = true
		if id >= uint32(q.r.size) || !q.sent[id] {
			n.malformed.Add(1)
			n.ctr.TxErrors.Add(1)
			continue
		}
		q.sent[id] = false
		q.frames[q.slot[id]].done = true
		q.free = append(q.free, uint16(id))
	}
	if !got {
		return
	}
	if q.r.eventIdx && !n.wantRoom.Load() {
		q.r.setUsedEvent(q.r.usedIdx - 1) // stay behind: no interrupts
	}
	for q.n > 0 && q.frames[q.head].done {
		q.rpos = q.frames[q.head].end
		q.head = (q.head + 1) % len(q.frames)
		q.n--
	}
	if q.n == 0 {
		q.rpos = q.wpos
	}
}

// Transmit implements netif.Device.Transmit. The frame is copied once into
// the DMA ring behind its virtio-net header, so b is untouched (but for a
// checksum the device cannot do, which is completed in b) and free again
// when Transmit returns. The header carries the offloads b asks for
// (pkt.Buf.Offload) that were negotiated. A full ring gives
// netif.ErrBusy.
func (n *Net) Transmit(b *pkt.Buf) error {
	if n.closed.Load() {
		n.ctr.TxDropped.Add(1)
		return netif.ErrClosed
	}
	if !n.link.Load() {
		n.ctr.TxDropped.Add(1)
		return netif.ErrLinkDown
	}
	l := b.Len()
	o := b.Offload()
	if l > n.maxTx(o.GSO) {
		n.ctr.TxDropped.Add(1)
		return netif.ErrTooBig
	}
	if o.NeedsCsum && !n.off.TxChecksum {
		// Not asked for by a stack that reads Offloads; done here so
		// that the frame still goes out right.
		if !b.FinishChecksum() {
			n.ctr.TxErrors.Add(1)
			return netif.ErrTooBig
		}
		o.NeedsCsum = false
	}
	q := &n.tx
	q.mu.Lock()
	defer q.mu.Unlock()
	if n.closed.Load() {
		n.ctr.TxDropped.Add(1)
		return netif.ErrClosed
	}
	n.reclaim(q)
	need := NetHeaderLen + l
	start, ok := q.place(need)
	if !ok && n.askRoom(q) {
		// Completions arrived while the interrupt was being asked for.
		n.reclaim(q)
		start, ok = q.place(need)
	}
	if !ok {
		n.ctr.TxDropped.Add(1)
		return netif.ErrBusy
	}
	id := q.free[len(q.free)-1]
	q.free = q.free[:len(q.free)-1]
	off := int(start % uint64(len(q.slab)))
	slot := q.slab[off : off+need : off+need]
	putTxHeader(slot[:NetHeaderLen], o, l)
	b.CopyTo(slot[NetHeaderLen:])
	q.wpos = start + uint64(need)
	k := (q.head + q.n) % len(q.frames)
	q.frames[k] = txFrame{end: q.wpos}
	q.slot[id], q.sent[id] = k, true
	q.n++
	q.r.setDesc(id, q.bus+uint64(off), uint32(need), 0, 0)
	q.r.push(id)
	q.r.publish()
	if q.r.needNotify() {
		n.t.Notify(netTxQueue)
	}
	n.ctr.CountTx(l)
	return nil
}

// place finds room for a frame of need bytes (virtio-net header
// included): a free descriptor, a frame slot and slab space.
func (q *txQueue) place(need int) (uint64, bool) {
	start, ok := bytering.Place(len(q.slab), q.wpos, q.rpos, need)
	return start, ok && len(q.free) > 0 && q.n < len(q.frames)
}

// halfFree reports whether at least half of the descriptors and half of
// the slab are free.
func (q *txQueue) halfFree() bool {
	return 2*len(q.free) >= int(q.r.size) && 2*(q.wpos-q.rpos) <= uint64(len(q.slab))
}

// askRoom is called, with the queue locked, when a frame found no room:
// from now on the driver wants to be told when the ring has room
// (netif.TxRoomNotifier), so it asks for a used-buffer interrupt once the
// device has completed half of the frames in flight (with event index;
// without it, at the next completion). A full ring has frames in flight,
// so that interrupt comes. It reports whether completions are already
// there to reclaim: then the caller tries again at once, as no
// interrupt may come for them.
func (n *Net) askRoom(q *txQueue) bool {
	n.wantRoom.Store(true)
	if q.r.eventIdx {
		inflight := int(q.r.size) - len(q.free)
		q.r.setUsedEvent(q.r.usedIdx + uint16(max(inflight/2, 1)) - 1)
	} else if q.r.availFlags&availFNoInterrupt != 0 {
		q.r.availFlags &^= availFNoInterrupt
		q.r.publish()
	}
	return q.r.pending() > 0
}

// SetTxRoom implements netif.TxRoomNotifier. After Transmit returned
// ErrBusy, f runs from Poll (the goroutine the device interrupt wakes),
// with no lock of the driver held, once the device has completed enough
// frames to free half of the descriptors and half of the DMA slab.
func (n *Net) SetTxRoom(f func()) bool {
	if f == nil {
		n.room.Store(nil)
	} else {
		n.room.Store(&f)
	}
	return true
}

// txRoom is Poll's transmit half, after a refusal: it reclaims the
// completed frames and, once the ring is half free, turns the interrupt
// off again and calls the room function.
func (n *Net) txRoom() {
	q := &n.tx
	q.mu.Lock()
	if n.closed.Load() || !n.wantRoom.Load() {
		q.mu.Unlock()
		return
	}
	n.reclaim(q)
	if !q.halfFree() {
		q.mu.Unlock()
		return // the interrupt stays on: the next completion looks again
	}
	n.wantRoom.Store(false)
	if q.r.eventIdx {
		q.r.setUsedEvent(q.r.usedIdx - 1)
	} else {
		q.r.availFlags |= availFNoInterrupt
		q.r.publish()
	}
	q.mu.Unlock()
	if f := n.room.Load(); f != nil {
		(*f)()
	}
}

// maxTx is the largest frame Transmit takes with segmentation t: the
// MTU's, or with TSO the largest datagram the device segments.
func (n *Net) maxTx(t pkt.GSOType) int {
	switch {
	case t == pkt.GSOTCPv4 && n.off.TSO4Max > 0:
		return n.off.TSO4Max + netif.EthernetHeaderLen
	case t == pkt.GSOTCPv6 && n.off.TSO6Max > 0:
		return n.off.TSO6Max + netif.EthernetHeaderLen
	}
	return n.mtu + netif.EthernetHeaderLen
}

// putTxHeader writes the virtio-net header of a frame of l bytes with
// offloads o (§5.1.6.2): a partial checksum from csum_start, and TSO for
// a frame larger than one segment. num_buffers is unused on transmit.
func putTxHeader(h []byte, o pkt.Offload, l int) {
	clear(h)
	le := binary.LittleEndian
	if o.NeedsCsum {
		h[hdrFlags] = hdrFNeedsCsum
		le.PutUint16(h[hdrCsumStart:], uint16(o.CsumStart))
		le.PutUint16(h[hdrCsumOffset:], uint16(o.CsumOffset))
	}
	if o.GSO == pkt.GSONone || l <= o.HdrLen+o.GSOSize {
		return
	}
	switch o.GSO {
	case pkt.GSOTCPv4:
		h[hdrGSOType] = gsoTCPv4
	case pkt.GSOTCPv6:
		h[hdrGSOType] = gsoTCPv6
	}
	le.PutUint16(h[hdrHdrLen:], uint16(o.HdrLen))
	le.PutUint16(h[hdrGSOSize:], uint16(o.GSOSize))
}
