// virtio-net receive path: used-ring processing, lending, refill (virtio 1.1 §5.1.6.3-4).

package virtio

import (
	"sync"

	"github.com/mirago/mirago/stack/netif"
)

// rxQueue is the receive queue: descriptor i always describes buffer i.
type rxQueue struct {
	mu     sync.Mutex
	r      *ring
	bufs   []byte // size × bufSize bytes of DMA memory
	bufLen int
	posted []bool // descriptor i is on the ring, owned by the device
}

func (q *rxQueue) init(mem Memory, size, bufLen int) error {
	r, err := newRing(mem, size)
	if err != nil {
		return err
	}
	bufs, bus, err := mem.Alloc(size*bufLen, 64)
	if err != nil {
		return err
	}
	q.r, q.bufs, q.bufLen = r, bufs, bufLen
	q.posted = make([]bool, size)
	for i := range size {
		id := uint16(i)
		r.setDesc(id, bus+uint64(i*bufLen), uint32(bufLen), descFWrite, 0)
		r.push(id)
		q.posted[i] = true
	}
	r.publish()
	return nil
}

func (q *rxQueue) buf(id uint16) []byte {
	o := int(id) * q.bufLen
	return q.bufs[o : o+q.bufLen : o+q.bufLen]
}

// Poll hands every frame the device has completed to the handler, lending
// the DMA buffer for the duration of the call, and puts each buffer back on
// the receive ring. It handles at most one ring's worth of entries per call
// and returns how many it consumed; the caller polls again while the result
// is non-zero. Poll is safe for concurrent use but is meant to be called
// from one goroutine, the one woken by the device interrupt.
func (n *Net) Poll() int {
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
	for budget := int(q.r.size); budget > 0; budget-- {
		if q.r.usedIdx == q.r.usedIndex() {
			break
		}
		id, l := q.r.usedElem(q.r.usedIdx)
		q.r.usedIdx++
		n.receive(q, id, l, h)
		done++
	}
	if done > 0 {
		q.r.publish()
		if !q.r.deviceNoNotify() {
			n.t.Notify(netRxQueue)
		}
	}
	return done
}

// receive checks one used entry, delivers its frame and requeues the
// buffer. A bad id cannot be requeued (it is not ours); it is only counted.
func (n *Net) receive(q *rxQueue, id, l uint32, h netif.Handler) {
	if id >= uint32(q.r.size) || !q.posted[id] {
		n.malformed.Add(1)
		n.ctr.RxErrors.Add(1)
		return
	}
	i := uint16(id)
	q.posted[i] = false
	buf := q.buf(i)
	switch {
	case l > uint32(len(buf)):
		n.malformed.Add(1)
		n.ctr.RxErrors.Add(1)
	case l < NetHeaderLen+netif.EthernetHeaderLen:
		n.ctr.RxErrors.Add(1) // runt
	case h == nil:
		n.ctr.RxDropped.Add(1)
	default:
		frame := buf[NetHeaderLen:l:l]
		n.ctr.CountRx(len(frame))
		h(frame, netif.RxMeta{})
	}
	q.r.push(i)
	q.posted[i] = true
}
