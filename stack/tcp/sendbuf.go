package tcp

import "github.com/mirago/mirago/internal/blockpool"

// maxScoreboard bounds the SACK scoreboard (RFC 6675 §3); blocks beyond it
// are ignored, which only costs unnecessary retransmissions.
const maxScoreboard = 32

// txChunk is a send ring plus the SACK scoreboard. It is taken from the
// layer's pool when the user writes and returned when everything is
// acknowledged, so an idle connection holds none.
type txChunk struct {
	mem     *blockpool.Block
	buf     []byte
	head, n int // n bytes from head; buf[head] has sequence number Conn.sndBase
	sb      [maxScoreboard]span
	nsb     int
	peak    int // most bytes this ring was asked to hold
}

func (c *Conn) txLen() int {
	if c.tx == nil {
		return 0
	}
	return c.tx.n
}

// txFree is the free space in the send buffer.
func (c *Conn) txFree() int { return c.l.cfg.SendBuffer - c.txLen() }

// txAppend copies as much of p as fits into the send ring.
func (c *Conn) txAppend(p []byte) int {
	if len(p) == 0 || c.txFree() == 0 {
		return 0
	}
	l := c.l
	if c.tx == nil {
		if c.tx = l.txSpare; c.tx != nil {
			l.txSpare = nil
		} else {
			c.tx = l.txPool.Get().(*txChunk)
		}
		c.tx.head, c.tx.n, c.tx.nsb, c.tx.peak = 0, 0, 0, 0
		cls := l.txMem.ClassFor(len(p))
		if h := int(c.txHint); h > cls && l.memory+l.txMem.Size(h) <= l.cfg.MaxMemory {
			cls = h
		}
		c.tx.mem = l.txMem.Get(cls)
		c.tx.buf = c.tx.mem.B
		l.memory += len(c.tx.buf)
	}
	t := c.tx
	want := min(t.n+len(p), l.cfg.SendBuffer)
	t.peak = max(t.peak, want)
	if want > len(t.buf) {
		// Grow the ring (one copy), unless over the memory bound; then
		// the writer waits for ACKs to free space.
		cls := l.txMem.ClassFor(want)
		if add := l.txMem.Size(cls) - len(t.buf); l.memory+add <= l.cfg.MaxMemory {
			nb := l.txMem.Get(cls)
			blockpool.GrowRing(nb.B, t.buf, t.head, t.n)
			l.txMem.Put(t.mem)
			t.mem, t.buf, t.head = nb, nb.B, 0
			l.memory += add
		}
	}
	size := len(t.buf)
	k := min(len(p), size-t.n)
	w := t.head + t.n
	if w >= size {
		w -= size
	}
	m := copy(t.buf[w:], p[:k])
	copy(t.buf, p[m:k])
	t.n += k
	return k
}

// txSlices returns the n bytes at sequence number seq as up to two slices
// of the ring.
func (c *Conn) txSlices(seq uint32, n int) ([]byte, []byte) {
	if n == 0 {
		return nil, nil
	}
	t := c.tx
	size := len(t.buf)
	off := t.head + int(seq-c.sndBase)
	if off >= size {
		off -= size
	}
	if off+n <= size {
		return t.buf[off : off+n], nil
	}
	return t.buf[off:], t.buf[:n-(size-off)]
}

// txAcked drops acknowledged bytes up to ack from the ring.
func (c *Conn) txAcked(ack uint32) {
	d := int32(ack - c.sndBase)
	if d <= 0 || c.tx == nil {
		return
	}
	k := min(int(d), c.tx.n)
	t := c.tx
	t.head += k
	if t.head >= len(t.buf) {
		t.head -= len(t.buf)
	}
	t.n -= k
	c.sndBase += uint32(k)
	c.sbTrim(c.sndBase)
	if t.n == 0 {
		c.releaseTx()
	}
}

func (c *Conn) releaseTx() {
	if c.tx == nil {
		return
	}
	c.l.memory -= len(c.tx.buf)
	c.txHint = decayHint(c.txHint, c.l.txMem.ClassFor(c.tx.peak))
	c.l.txMem.Put(c.tx.mem)
	c.tx.mem, c.tx.buf = nil, nil
	if c.l.txSpare == nil {
		c.l.txSpare = c.tx
	} else {
		c.l.txPool.Put(c.tx)
	}
	c.tx = nil
}
