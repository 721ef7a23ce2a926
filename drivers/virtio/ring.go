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
}

// ringLayout places the parts of a queue of size n in one allocation:
// descriptors, then the available ring, then the used ring at a 4-aligned
// offset.
func ringLayout(n int) (availOff, usedOff, total int) {
	availOff = descSize * n
	usedOff = (availOff + 6 + 2*n + usedAlign - 1) &^ (usedAlign - 1)
	total = usedOff + 6 + 8*n
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
		avail:    b[availOff : availOff+6+2*n : availOff+6+2*n],
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

// usedElem returns used.ring[i mod size]: the chain head id and the number
// of bytes the device wrote. Both are untrusted.
func (r *ring) usedElem(i uint16) (id, n uint32) {
	e := r.used[4+8*int(i&(r.size-1)):]
	return binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:])
}

// word is the 32-bit word at the start of b (4-aligned by construction).
func word(b []byte) *uint32 { return (*uint32)(unsafe.Pointer(&b[0])) }
