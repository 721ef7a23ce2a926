// Device model: the device side of split virtqueues (virtio 1.1 §2.7).

package virtiomodel

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mirago/mirago/drivers/virtio"
)

// ErrEmpty means the driver has no buffer available on the queue.
var ErrEmpty = errors.New("virtiomodel: no available buffer")

// Segment is one descriptor of a chain, resolved to arena memory.
type Segment struct {
	Buf      []byte
	Writable bool
}

func (d *Device) queue(qi int) (*Queue, error) {
	if qi < 0 || qi >= d.NumQueues || !d.Queues[qi].Ready || d.Queues[qi].Num == 0 {
		return nil, fmt.Errorf("virtiomodel: queue %d not ready", qi)
	}
	if d.status&virtio.StatusDriverOK == 0 {
		return nil, errors.New("virtiomodel: DRIVER_OK not set")
	}
	return &d.Queues[qi], nil
}

// Avail reports how many buffers the driver has made available on queue qi
// and the device has not consumed yet.
func (d *Device) Avail(qi int) int {
	q, err := d.queue(qi)
	if err != nil {
		return 0
	}
	hdr, err := d.Mem.Slice(q.Driver, 4)
	if err != nil {
		return 0
	}
	return int(binary.LittleEndian.Uint16(hdr[2:]) - q.lastAvail)
}

// AvailFlags is avail.flags of queue qi.
func (d *Device) AvailFlags(qi int) uint16 {
	hdr, err := d.Mem.Slice(d.Queues[qi].Driver, 2)
	if err != nil {
		return 0
	}
	return binary.LittleEndian.Uint16(hdr)
}

// Pop takes the next available chain on queue qi (§2.7.13) and returns its
// head id and segments.
func (d *Device) Pop(qi int) (uint16, []Segment, error) {
	if d.Avail(qi) == 0 {
		return 0, nil, ErrEmpty
	}
	q := &d.Queues[qi]
	ent, err := d.Mem.Slice(q.Driver+4+2*uint64(uint32(q.lastAvail)%q.Num), 2)
	if err != nil {
		return 0, nil, err
	}
	q.lastAvail++
	head := binary.LittleEndian.Uint16(ent)
	var segs []Segment
	for i, id := 0, head; ; i++ {
		if uint32(id) >= q.Num || i >= int(q.Num) {
			return head, nil, fmt.Errorf("virtiomodel: bad descriptor chain at %d", id)
		}
		desc, err := d.Mem.Slice(q.Desc+16*uint64(id), 16)
		if err != nil {
			return head, nil, err
		}
		addr := binary.LittleEndian.Uint64(desc)
		n := binary.LittleEndian.Uint32(desc[8:])
		flags := binary.LittleEndian.Uint16(desc[12:])
		buf, err := d.Mem.Slice(addr, n)
		if err != nil {
			return head, nil, err
		}
		segs = append(segs, Segment{Buf: buf, Writable: flags&2 != 0})
		if flags&1 == 0 {
			return head, segs, nil
		}
		id = binary.LittleEndian.Uint16(desc[14:])
	}
}

// PopOne takes the next available chain on queue qi, which must be a single
// descriptor, without allocating (for allocation tests).
func (d *Device) PopOne(qi int) (id uint16, buf []byte, writable bool, err error) {
	if d.Avail(qi) == 0 {
		return 0, nil, false, ErrEmpty
	}
	q := &d.Queues[qi]
	ent, err := d.Mem.Slice(q.Driver+4+2*uint64(uint32(q.lastAvail)%q.Num), 2)
	if err != nil {
		return 0, nil, false, err
	}
	q.lastAvail++
	id = binary.LittleEndian.Uint16(ent)
	if uint32(id) >= q.Num {
		return id, nil, false, errBadChain
	}
	desc, err := d.Mem.Slice(q.Desc+16*uint64(id), 16)
	if err != nil {
		return id, nil, false, err
	}
	flags := binary.LittleEndian.Uint16(desc[12:])
	if flags&1 != 0 {
		return id, nil, false, errBadChain
	}
	buf, err = d.Mem.Slice(binary.LittleEndian.Uint64(desc), binary.LittleEndian.Uint32(desc[8:]))
	return id, buf, flags&2 != 0, err
}

var errBadChain = errors.New("virtiomodel: expected a single-descriptor chain")

// PushUsed appends {id, n} to queue qi's used ring, publishes it and raises
// the used-buffer interrupt unless the driver suppressed it. Tests use it
// directly to inject malformed entries.
func (d *Device) PushUsed(qi int, id, n uint32) error {
	if err := d.putUsed(qi, id, n); err != nil {
		return err
	}
	return d.publishUsed(qi, 1)
}

// putUsed writes {id, n} into the next used entry of queue qi without
// publishing it.
func (d *Device) putUsed(qi int, id, n uint32) error {
	q := &d.Queues[qi]
	if q.Num == 0 {
		return fmt.Errorf("virtiomodel: queue %d not set up", qi)
	}
	used, err := d.Mem.Slice(q.Device, 4+8*q.Num)
	if err != nil {
		return err
	}
	e := used[4+8*(uint32(q.usedIdx+q.unpublished)%q.Num):]
	binary.LittleEndian.PutUint32(e, id)
	binary.LittleEndian.PutUint32(e[4:], n)
	q.unpublished++
	return nil
}

// publishUsed makes the last k entries written by putUsed visible with one
// store of used.idx, and raises the used-buffer interrupt unless the
// driver suppressed it: with event index when used.idx passes used_event
// (§2.7.7.2), otherwise unless VIRTQ_AVAIL_F_NO_INTERRUPT is set.
func (d *Device) publishUsed(qi, k int) error {
	q := &d.Queues[qi]
	used, err := d.Mem.Slice(q.Device, 4)
	if err != nil {
		return err
	}
	old := q.usedIdx
	q.usedIdx += uint16(k)
	q.unpublished -= uint16(k)
	binary.LittleEndian.PutUint16(used[2:], q.usedIdx)
	var fire bool
	if d.DriverFeatures&virtio.FeatureEventIdx != 0 {
		ev := d.UsedEvent(qi)
		fire = q.usedIdx-ev-1 < q.usedIdx-old
	} else {
		fire = d.AvailFlags(qi)&1 == 0 // VIRTQ_AVAIL_F_NO_INTERRUPT
	}
	if fire {
		d.isr |= virtio.IntUsedBuffer
		d.Interrupts[qi]++
	}
	return nil
}

// UsedEvent is the driver's used_event for queue qi: the used index at
// which it wants the next interrupt (§2.7.7.2).
func (d *Device) UsedEvent(qi int) uint16 {
	q := &d.Queues[qi]
	b, err := d.Mem.Slice(q.Driver+4+2*uint64(q.Num), 2)
	if err != nil {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}

// SetAvailEvent writes avail_event of queue qi: the driver notifies once
// it makes the available entry at index v available (§2.7.10.2).
func (d *Device) SetAvailEvent(qi int, v uint16) error {
	q := &d.Queues[qi]
	b, err := d.Mem.Slice(q.Device+4+8*uint64(q.Num), 2)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint16(b, v)
	return nil
}

// NotifyOnNext asks, with event index, to be notified of the next buffer
// the driver makes available on queue qi (QEMU's
// virtio_queue_set_notification(vq, 1)).
func (d *Device) NotifyOnNext(qi int) error {
	return d.SetAvailEvent(qi, d.Queues[qi].lastAvail+uint16(d.Avail(qi)))
}

// unpop gives back the last k entries taken from queue qi's available
// ring (a receive that found too few buffers).
func (d *Device) unpop(qi, k int) { d.Queues[qi].lastAvail -= uint16(k) }

// SetUsedFlags writes used.flags of queue qi (e.g. VIRTQ_USED_F_NO_NOTIFY).
func (d *Device) SetUsedFlags(qi int, flags uint16) error {
	used, err := d.Mem.Slice(d.Queues[qi].Device, 2)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint16(used, flags)
	return nil
}
