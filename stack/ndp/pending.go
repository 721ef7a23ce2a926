package ndp

import "github.com/mirago/mirago/stack/pkt"

// pendingPool holds copies of packets waiting for resolution (RFC 4861
// §7.2.2), in slots shared by all entries, as stack/arp's: slot buffers
// are allocated on first use and then reused, so queueing costs no
// allocation in steady state and at most total*size bytes.
type pendingPool struct {
	slots    []pendingSlot
	free     int32
	used     int
	headroom int
	size     int
}

type pendingSlot struct {
	buf  *pkt.Buf
	next int32
}

func newPendingPool(total, headroom, mtu int) pendingPool {
	p := pendingPool{slots: make([]pendingSlot, total), headroom: headroom, size: headroom + mtu, free: none}
	for i := total - 1; i >= 0; i-- {
		p.slots[i].next = p.free
		p.free = int32(i)
	}
	return p
}

// get copies b into a free slot and returns it, or none if all are taken.
func (p *pendingPool) get(b *pkt.Buf) int32 {
	i := p.free
	if i == none {
		return none
	}
	s := &p.slots[i]
	if s.buf == nil {
		s.buf = pkt.New(p.size, p.headroom)
	}
	s.buf.Reset(p.headroom)
	b.CopyTo(s.buf.Append(b.Len()))
	p.free = s.next
	s.next = none
	p.used++
	return i
}

func (p *pendingPool) put(i int32) {
	p.slots[i].next = p.free
	p.free = i
	p.used--
}

// fits reports whether a packet of n bytes fits a slot.
func (p *pendingPool) fits(n int) bool { return n <= p.size-p.headroom }
