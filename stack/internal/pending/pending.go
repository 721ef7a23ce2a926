// Package pending holds copies of packets waiting for their next hop's
// link-layer address, for ARP (RFC 1122 §2.3.2.2) and Neighbor Discovery
// (RFC 4861 §7.2.2) alike: a Pool of slots shared by every neighbor, and
// a Queue per neighbor. Slot buffers are allocated on first use and then
// reused, so queueing costs no allocation in steady state and at most
// total*(headroom+MTU) bytes.
package pending

import "github.com/mirago/mirago/stack/pkt"

const none = -1

// Pool is the slots of every queue.
type Pool struct {
	slots    []slot
	free     int32
	used     int
	headroom int
	size     int
}

type slot struct {
	buf  *pkt.Buf
	next int32
}

// New returns a pool of total slots for packets of up to mtu bytes with
// headroom bytes in front.
func New(total, headroom, mtu int) Pool {
	p := Pool{slots: make([]slot, total), headroom: headroom, size: headroom + mtu, free: none}
	for i := total - 1; i >= 0; i-- {
		p.slots[i].next = p.free
		p.free = int32(i)
	}
	return p
}

// Used is the number of packets held.
func (p *Pool) Used() int { return p.used }

// Fits reports whether a packet of n bytes fits a slot. (A TSO segment
// does not: the caller drops it, and TCP sends it again once resolved.)
func (p *Pool) Fits(n int) bool { return n <= p.size-p.headroom }

// Queue is one neighbor's packets, oldest first. The zero value is
// empty.
type Queue struct {
	head, tail int32
	n          int
}

// Len is the number of packets queued.
func (q *Queue) Len() int { return q.n }

// Push copies b, with the offloads it asks of the device (a checksum
// left to the device stays so), to the tail of q. When q holds max
// packets already its oldest is dropped first (dropped is 1): the latest
// are kept (RFC 1122 §2.3.2.2, RFC 4861 §7.2.2). ok is false when the
// pool is full (b was not queued).
func (p *Pool) Push(q *Queue, b *pkt.Buf, max int) (dropped int, ok bool) {
	if q.n >= max && q.n > 0 {
		s := q.head
		q.head = p.slots[s].next
		q.n--
		p.put(s)
		dropped = 1
	}
	i := p.free
	if i == none {
		return dropped, false
	}
	s := &p.slots[i]
	if s.buf == nil {
		s.buf = pkt.New(p.size, p.headroom)
	}
	s.buf.Reset(p.headroom)
	b.CopyTo(s.buf.Append(b.Len()))
	s.buf.SetOffload(b.Offload())
	p.free = s.next
	s.next = none
	p.used++
	if q.n == 0 {
		q.head = i
	} else {
		p.slots[q.tail].next = i
	}
	q.tail = i
	q.n++
	return dropped, true
}

// Front is q's oldest packet, nil if q is empty. It stays valid until q
// changes.
func (p *Pool) Front(q *Queue) *pkt.Buf {
	if q.n == 0 {
		return nil
	}
	return p.slots[q.head].buf
}

// Drain empties q, oldest first, handing each packet to f (which must
// not keep it) if f is not nil, and returns how many there were.
func (p *Pool) Drain(q *Queue, f func(*pkt.Buf)) int {
	n := q.n
	for s, k := q.head, 0; k < n; k++ {
		next := p.slots[s].next
		if f != nil {
			f(p.slots[s].buf)
		}
		p.put(s)
		s = next
	}
	*q = Queue{}
	return n
}

func (p *Pool) put(i int32) {
	p.slots[i].next = p.free
	p.free = i
	p.used--
}
