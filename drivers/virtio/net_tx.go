// virtio-net transmit path: gather into DMA, backpressure, completion
// reclaim (virtio 1.1 §5.1.6.2).

package virtio

import (
	"sync"

	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// txQueue is the transmit queue: descriptor i always describes buffer i,
// and free lists the descriptors the device does not own.
type txQueue struct {
	mu       sync.Mutex
	r        *ring
	bufs     []byte
	bufLen   int
	free     []uint16 // stack of free descriptor ids
	inflight []bool   // descriptor i is owned by the device
}

func (q *txQueue) init(mem Memory, size, bufLen int) error {
	r, err := newRing(mem, size)
	if err != nil {
		return err
	}
	bufs, bus, err := mem.Alloc(size*bufLen, 64)
	if err != nil {
		return err
	}
	// Completions are reclaimed by Transmit: no interrupt needed.
	r.availFlags = availFNoInterrupt
	r.publish()
	q.r, q.bufs, q.bufLen = r, bufs, bufLen
	q.free = make([]uint16, 0, size)
	q.inflight = make([]bool, size)
	for i := size - 1; i >= 0; i-- {
		r.setDesc(uint16(i), bus+uint64(i*bufLen), 0, 0, 0)
		q.free = append(q.free, uint16(i))
	}
	return nil
}

func (q *txQueue) buf(id uint16) []byte {
	o := int(id) * q.bufLen
	return q.bufs[o : o+q.bufLen : o+q.bufLen]
}

// reclaim takes back every descriptor the device has finished with.
func (n *Net) reclaim(q *txQueue) {
	for budget := int(q.r.size); budget > 0; budget-- {
		if q.r.usedIdx == q.r.usedIndex() {
			return
		}
		id, _ := q.r.usedElem(q.r.usedIdx)
		q.r.usedIdx++
		if id >= uint32(q.r.size) || !q.inflight[id] {
			n.malformed.Add(1)
			n.ctr.TxErrors.Add(1)
			continue
		}
		q.inflight[id] = false
		q.free = append(q.free, uint16(id))
	}
}

// Transmit implements netif.Device.Transmit. The frame is copied once into
// a DMA buffer (header from the Buf's headroom, contiguous bytes, attached
// payload), so b is untouched and free again when Transmit returns. A full
// ring gives netif.ErrBusy.
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
	if l > n.mtu+netif.EthernetHeaderLen {
		n.ctr.TxDropped.Add(1)
		return netif.ErrTooBig
	}
	q := &n.tx
	q.mu.Lock()
	defer q.mu.Unlock()
	if n.closed.Load() {
		n.ctr.TxDropped.Add(1)
		return netif.ErrClosed
	}
	n.reclaim(q)
	if len(q.free) == 0 {
		n.ctr.TxDropped.Add(1)
		return netif.ErrBusy
	}
	id := q.free[len(q.free)-1]
	q.free = q.free[:len(q.free)-1]
	slot := q.buf(id)

	var m int
	if hdr, err := b.Prepend(NetHeaderLen); err == nil {
		// The header in place in front of the frame (§5.1.6: all
		// zero, no offloads; num_buffers is unused on transmit).
		clear(hdr)
		m = b.CopyTo(slot)
		b.TrimFront(NetHeaderLen)
	} else {
		clear(slot[:NetHeaderLen])
		m = NetHeaderLen + b.CopyTo(slot[NetHeaderLen:])
	}
	q.r.setDescLen(id, uint32(m))
	q.r.push(id)
	q.inflight[id] = true
	q.r.publish()
	if !q.r.deviceNoNotify() {
		n.t.Notify(netTxQueue)
	}
	n.ctr.CountTx(l)
	return nil
}
