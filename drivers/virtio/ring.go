// Driver side of a split virtqueue (virtio 1.1 §2.7).

package virtio

import (
	"encoding/binary"
	"errors"
	"strconv"
	"sync/atomic"
	"unsafe"
)

// Split virtqueue layout (virtio 1.1 §2.7, "Split Virtqueues").
const (
	descSize = 16 // struct virtq_desc: le64 addr, le32 len, le16 flags, le16 next

	descFNext  = 1 // VIRTQ_DESC_F_NEXT (§2.7.5)
	descFWrite = 2 // VIRTQ_DESC_F_WRITE: device writes the buffer

	availFNoInterrupt = 1 // VIRTQ_AVAIL_F_NO_INTERRUPT (§2.7.6)
	usedFNoNotify     = 1 // VIRTQ_USED_F_NO_NOTIFY (§2.7.8)

	// Alignment of each part (§2.7, table "Virtqueue Part Alignment").
	descAlign  = 16
	availAlign = 2
	usedAlign  = 4
)

// ring is the driver side of one split virtqueue. It is not safe for
// concurrent use; each queue is owned by one lock in its device.
//
// The ring header words (flags, idx) are accessed with 32-bit atomics: they
// are single-copy atomic, and on ARM they carry the barriers (DMB) that order
// descriptor and ring-entry writes before the index that publishes them, and
// used-entry reads after the index that announces them (§2.7.13.3, §2.7.14).
// On a non-coherent system the cache maintenance would go in publish (clean
// the descriptors, ring entries and buffers) and in usedIndex (invalidate the
// used ring and receive buffers); mirago's DMA memory is mapped uncached.
type ring struct {
	size  uint16
	desc  []byte
	avail []byte
	used  []byte

	descBus, availBus, usedBus uint64

	availFlags uint16 // driver's avail.flags
	availIdx   uint16 // next free avail slot (free-running)
	usedIdx    uint16 // next used entry to consume (free-running)

	// With VIRTIO_F_RING_EVENT_IDX (§2.7.7.2, §2.7.10.2): the device
	// reads used_event from the end of the available ring and writes
	// avail_event at the end of the used ring.
	eventIdx  bool
	kickedIdx uint16 // availIdx when the last notification was decided
}

// ringLayout places the parts of a queue of size n in one allocation:
// descriptors, then the available ring, then the used ring at a 4-aligned
// offset. The available ring ends with used_event and the used ring with
// avail_event (§2.7.6, §2.7.8); total is rounded up so that avail_event
// can be read as part of an aligned 32-bit word.
func ringLayout(n int) (availOff, usedOff, total int) {
	availOff = descSize * n
	usedOff = (availOff + 6 + 2*n + usedAlign - 1) &^ (usedAlign - 1)
	total = (usedOff + 6 + 8*n + 3) &^ 3
	return
}

// newRing allocates a queue of size n (a power of two, at most 32768).
func newRing(mem Memory, n int) (*ring, error) {
	if n <= 0 || n > 32768 || n&(n-1) != 0 {
		return nil, errors.New("virtio: queue size " + strconv.Itoa(n) + " is not a power of two in [1, 32768]")
	}
	availOff, usedOff, total := ringLayout(n)
	b, bus, err := mem.Alloc(total, descAlign)
	if err != nil {
		return nil, err
	}
	if len(b) < total {
		return nil, errors.New("virtio: ring allocation too short")
	}
	return &ring{
		size:     uint16(n),
		desc:     b[:availOff:availOff],
		avail:    b[availOff : availOff+6+2*n : usedOff],
		used:     b[usedOff:total:total],
		descBus:  bus,
		availBus: bus + uint64(availOff),
		usedBus:  bus + uint64(usedOff),
	}, nil
}

// setDesc fills descriptor i.
func (r *ring) setDesc(i uint16, addr uint64, n uint32, flags, next uint16) {
	d := r.desc[int(i)*descSize : int(i)*descSize+descSize]
	binary.LittleEndian.PutUint64(d[0:], addr)
	binary.LittleEndian.PutUint32(d[8:], n)
	binary.LittleEndian.PutUint16(d[12:], flags)
	binary.LittleEndian.PutUint16(d[14:], next)
}

// setDescLen updates the length of descriptor i.
func (r *ring) setDescLen(i uint16, n uint32) {
	binary.LittleEndian.PutUint32(r.desc[int(i)*descSize+8:], n)
}

// push puts descriptor chain head id in the next avail slot. The device
// does not see it until publish.
func (r *ring) push(id uint16) {
	slot := 4 + 2*int(r.availIdx&(r.size-1))
	binary.LittleEndian.PutUint16(r.avail[slot:], id)
	r.availIdx++
}

// publish makes pushed entries visible: one atomic store of avail.flags and
// avail.idx (§2.7.13.3, "Updating idx").
func (r *ring) publish() {
	atomic.StoreUint32(word(r.avail), uint32(r.availFlags)|uint32(r.availIdx)<<16)
}

// usedIndex loads used.idx (§2.7.8).
func (r *ring) usedIndex() uint16 {
	return uint16(atomic.LoadUint32(word(r.used)) >> 16)
}

// deviceNoNotify reports whether the device asked not to be notified.
func (r *ring) deviceNoNotify() bool {
	return atomic.LoadUint32(word(r.used))&usedFNoNotify != 0
}

// needNotify decides, after publish, whether the device must be notified
// of the entries published since the last decision: with event index
// when they pass the device's avail_event (§2.7.10.2), otherwise unless
// the device set VIRTQ_USED_F_NO_NOTIFY (§2.7.10.1). The sequentially
// consistent atomics order the read after publish's store of idx, as the
// spec's memory barrier does.
func (r *ring) needNotify() bool {
	old := r.kickedIdx
	r.kickedIdx = r.availIdx
	if !r.eventIdx {
		return !r.deviceNoNotify()
	}
	return needEvent(r.availEvent(), r.availIdx, old)
}

// needEvent is vring_need_event (§2.7.10.2): whether moving an index from
// old to new passes event.
func needEvent(event, new, old uint16) bool { return new-event-1 < new-old }

// availEvent loads avail_event, which the device writes after the used
// ring entries.
func (r *ring) availEvent() uint16 {
	return uint16(atomic.LoadUint32(word(r.used[4+8*int(r.size):])))
}

// setUsedEvent stores used_event, which follows the available ring
// entries: the device interrupts when it publishes the used entry at index
// v (§2.7.7.2). The store is a 32-bit atomic on the aligned word that
// holds it; the other half is the ring's last entry (queue size 1) or
// padding, and is written back unchanged.
func (r *ring) setUsedEvent(v uint16) {
	off := 4 + 2*int(r.size)
	w := (*uint32)(unsafe.Pointer(&r.avail[off&^3]))
	old := atomic.LoadUint32(w)
	if off&3 == 0 {
		atomic.StoreUint32(w, old&0xffff0000|uint32(v))
	} else {
		atomic.StoreUint32(w, old&0xffff|uint32(v)<<16)
	}
}

// interruptsOn (re)enables used-buffer interrupts for the entries after
// the last consumed one and reports whether any arrived meanwhile, in
// which case the caller consumes them rather than wait for an interrupt
// that may not come. interruptsOff suppresses them: with event index by
// leaving used_event behind (the device interrupts only when it passes
// it), otherwise with VIRTQ_AVAIL_F_NO_INTERRUPT, a hint (§2.7.7).
func (r *ring) interruptsOn() (more bool) {
	if r.eventIdx {
		r.setUsedEvent(r.usedIdx)
	} else if r.availFlags&availFNoInterrupt != 0 {
		r.availFlags &^= availFNoInterrupt
		r.publish()
	}
	return r.usedIndex() != r.usedIdx
}

func (r *ring) interruptsOff() {
	if !r.eventIdx && r.availFlags&availFNoInterrupt == 0 {
		r.availFlags |= availFNoInterrupt
		r.publish()
	}
}

// pending is how many used entries the device has published that the
// driver has not consumed.
func (r *ring) pending() int { return int(r.usedIndex() - r.usedIdx) }

// usedElem returns used.ring[i mod size]: the chain head id and the number
// of bytes the device wrote. Both are untrusted.
func (r *ring) usedElem(i uint16) (id, n uint32) {
	e := r.used[4+8*int(i&(r.size-1)):]
	return binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:])
}

// word is the 32-bit word at the start of b (4-aligned by construction).
func word(b []byte) *uint32 { return (*uint32)(unsafe.Pointer(&b[0])) }
