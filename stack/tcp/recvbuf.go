package tcp

import (
	"time"

	"github.com/mirago/mirago/internal/blockpool"
)

// maxOOO bounds the out-of-order queue: the number of disjoint ranges
// kept above RCV.NXT. A segment that would need another range is dropped.
const maxOOO = 32

// rxChunk is the receive ring. In-order unread data is buf[head:head+n]
// (mod len); out-of-order data sits at its place after it, in the part of
// the ring the advertised window covers, described by ooo (sequence
// ranges above RCV.NXT, sorted). Reassembly thus needs no allocation and
// is bounded by the window.
type rxChunk struct {
	mem     *blockpool.Block
	buf     []byte
	head, n int
	ooo     [maxOOO]span
	nooo    int
	last    int // index in ooo of the most recently updated range (RFC 2018 §4)
	peak    int // most bytes this ring was asked to hold
}

func (c *Conn) rxLen() int {
	if c.rx == nil {
		return 0
	}
	return c.rx.n
}

// rxSpace is the receive window we can offer.
func (c *Conn) rxSpace() uint32 {
	limit := c.l.cfg.RecvBuffer
	if c.rcvCap != 0 {
		limit = int(c.rcvCap)
	}
	return uint32(max(limit-c.rxLen(), 0))
}

// autoTune grows the receive window under Config.RecvAutoTune: once per
// smoothed RTT it checks what the application read; if that was at least
// half the current window, the window was the bottleneck and doubles, up
// to Config.RecvBuffer (dynamic right-sizing, as Linux).
func (c *Conn) autoTune(n int) {
	l := c.l
	c.tuneRead += uint32(n)
	now := l.now()
	if c.tuneStart == 0 {
		c.tuneStart = now
		return
	}
	rtt := max(c.srtt, time.Millisecond)
	if now-c.tuneStart < rtt {
		return
	}
	if c.tuneRead >= c.rcvCap/2 && int(c.rcvCap) < l.cfg.RecvBuffer {
		c.rcvCap = uint32(min(2*int(c.rcvCap), l.cfg.RecvBuffer))
		c.cnt().WindowGrowths++
	}
	c.tuneStart, c.tuneRead = now, 0
}

// rxReserve makes the receive ring hold need bytes from its head (unread
// data plus out-of-order data up to the new segment's end), allocating or
// growing it. It fails when that would pass Config.MaxMemory.
func (c *Conn) rxReserve(need int) bool {
	l := c.l
	if c.rx != nil && need <= len(c.rx.buf) {
		c.rx.peak = max(c.rx.peak, need)
		return true
	}
	cls := l.rxMem.ClassFor(need)
	if h := int(c.rxHint); c.rx == nil && h > cls && l.memory+l.rxMem.Size(h) <= l.cfg.MaxMemory {
		cls = h
	}
	have := 0
	if c.rx != nil {
		have = len(c.rx.buf)
	}
	if l.memory+l.rxMem.Size(cls)-have > l.cfg.MaxMemory {
		return false
	}
	nb := l.rxMem.Get(cls)
	if c.rx == nil {
		if c.rx = l.rxSpare; c.rx != nil {
			l.rxSpare = nil
		} else {
			c.rx = l.rxPool.Get().(*rxChunk)
		}
		c.rx.head, c.rx.n, c.rx.nooo, c.rx.last, c.rx.peak = 0, 0, 0, 0, 0
	} else {
		r := c.rx
		used := r.n // unread data plus the out-of-order part of the window
		if r.nooo > 0 {
			used += int(r.ooo[r.nooo-1].end - c.rcvNxt)
		}
		blockpool.GrowRing(nb.B, r.buf, r.head, used)
		l.rxMem.Put(r.mem)
		r.head = 0
	}
	c.rx.mem, c.rx.buf = nb, nb.B
	c.rx.peak = max(c.rx.peak, need)
	l.memory += len(nb.B) - have
	return true
}

func (c *Conn) releaseRx() {
	if c.rx == nil {
		return
	}
	c.l.memory -= len(c.rx.buf)
	c.rxHint = decayHint(c.rxHint, c.l.rxMem.ClassFor(c.rx.peak))
	c.l.rxMem.Put(c.rx.mem)
	c.rx.mem, c.rx.buf = nil, nil
	if c.l.rxSpare == nil {
		c.l.rxSpare = c.rx
	} else {
		c.l.rxPool.Put(c.rx)
	}
	c.rx = nil
}

// rxPut copies p to its place k bytes after RCV.NXT.
func (r *rxChunk) put(k int, p []byte) {
	size := len(r.buf)
	w := r.head + r.n + k
	for w >= size {
		w -= size
	}
	m := copy(r.buf[w:], p)
	copy(r.buf, p[m:])
}

// read copies in-order data into p.
func (r *rxChunk) read(p []byte) int {
	k := min(len(p), r.n)
	size := len(r.buf)
	m := copy(p[:k], r.buf[r.head:min(r.head+k, size)])
	copy(p[m:k], r.buf)
	r.head += k
	if r.head >= size {
		r.head -= size
	}
	r.n -= k
	if r.n == 0 && r.nooo == 0 {
		r.head = 0
	}
	return k
}

// inOrder returns the in-order unread data as up to two slices of the
// ring.
func (r *rxChunk) inOrder() ([]byte, []byte) {
	size := len(r.buf)
	if r.head+r.n <= size {
		return r.buf[r.head : r.head+r.n], nil
	}
	return r.buf[r.head:], r.buf[:r.head+r.n-size]
}

// discard drops k bytes of in-order data, as read does without copying.
func (r *rxChunk) discard(k int) {
	r.head += k
	if r.head >= len(r.buf) {
		r.head -= len(r.buf)
	}
	r.n -= k
	if r.n == 0 && r.nooo == 0 {
		r.head = 0
	}
}

// addOOO records [s.start, s.end) as received out of order.
func (r *rxChunk) addOOO(s span) bool {
	i := 0
	for i < r.nooo && seqLT(r.ooo[i].end, s.start) {
		i++
	}
	// i is the first range that ends at or after s.start.
	j := i
	for j < r.nooo && seqLEQ(r.ooo[j].start, s.end) {
		s.start = seqMin(s.start, r.ooo[j].start)
		s.end = seqMax(s.end, r.ooo[j].end)
		j++
	}
	if j == i { // no overlap: insert
		if r.nooo == maxOOO {
			return false
		}
		copy(r.ooo[i+1:r.nooo+1], r.ooo[i:r.nooo])
		r.ooo[i] = s
		r.nooo++
	} else { // replace ranges i..j-1 by s
		r.ooo[i] = s
		copy(r.ooo[i+1:], r.ooo[j:r.nooo])
		r.nooo -= j - i - 1
	}
	r.last = i
	return true
}

// advance moves RCV.NXT over out-of-order ranges that became contiguous,
// reporting whether any did.
func (r *rxChunk) advance(rcvNxt *uint32) bool {
	moved := false
	for r.nooo > 0 && seqLEQ(r.ooo[0].start, *rcvNxt) {
		if seqGT(r.ooo[0].end, *rcvNxt) {
			r.n += int(r.ooo[0].end - *rcvNxt)
			*rcvNxt = r.ooo[0].end
		}
		copy(r.ooo[:], r.ooo[1:r.nooo])
		r.nooo--
		r.last = 0
		moved = true
	}
	return moved
}

// sackBlocks fills b with SACK blocks, the most recent first (RFC 2018 §4).
func (r *rxChunk) sackBlocks(b []span) int {
	if r == nil || r.nooo == 0 {
		return 0
	}
	n := 0
	last := min(r.last, r.nooo-1)
	b[n] = r.ooo[last]
	n++
	for i := r.nooo - 1; i >= 0 && n < len(b); i-- {
		if i != last {
			b[n] = r.ooo[i]
			n++
		}
	}
	return n
}
