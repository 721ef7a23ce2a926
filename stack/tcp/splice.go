package tcp

import (
	"errors"
	"time"
)

// Splicing: two connections of one layer joined so that what each
// receives is sent on the other by the stack itself, under its lock, as
// the data arrives: a proxy's forwarding without a goroutine woken, a
// Read or a Write per chunk, and with one copy (from one connection's
// receive ring into the other's send ring) instead of two through a
// buffer. Every rule of a copying proxy holds: backpressure (data waits
// in the source's receive ring, whose window closes, until the
// destination's send ring has room), a FIN passed on after the data
// (half-close), a reset passed on as a reset, byte counts.

// ErrSpliced is returned by SpliceConns for a connection that cannot be
// spliced: another layer's, not established, already spliced, or with a
// Read or Write in progress.
var ErrSpliced = errors.New("tcp: connection cannot be spliced")

// Splice is two spliced connections. Direction 0 moves what a receives
// to b, direction 1 what b receives to a.
type Splice struct {
	l     *Layer
	c     [2]*Conn
	d     [2]spliceDir
	onMov [2]func(n int)
	done  chan struct{}
	ended bool // the splice no longer moves data (both directions done, a failure, or Stop)
	busy  bool // pump is running (it can be re-entered through finish)
	again bool // and must run once more
	last  time.Duration
}

// spliceDir is one direction's state.
type spliceDir struct {
	n                  int64
	eof                bool // the source's FIN was passed on
	srcReset, dstReset bool
	err                error // why the direction failed
	errAtDst           bool  // err was met on the destination
}

// SpliceStatus is what a Splice moved and how each direction (0: a to
// b, 1: b to a) ended.
type SpliceStatus struct {
	Bytes [2]int64 // bytes moved
	// EOF: the source's FIN was passed on to the destination (a
	// CloseWrite), after all its data.
	EOF [2]bool
	// SrcReset, DstReset: the source, or the destination, was reset by
	// its peer (ErrReset).
	SrcReset, DstReset [2]bool
	// Pending: the source holds data that the destination has not taken
	// yet (a copying proxy's write in progress).
	Pending [2]bool
	// Err is why the direction failed (nil if it ended with EOF or has
	// not ended), ErrAtDst whether it was met on the destination.
	Err      [2]error
	ErrAtDst [2]bool
}

// SpliceConns joins a and b (connections of one Layer, established or
// half-closed by their peer, with no Read or Write in progress): from now
// on the stack moves what each receives, and what it already holds, to
// the other, and passes a FIN on as a CloseWrite. onMove, if not nil,
// is called for each chunk moved, per direction (0: a to b), with the
// stack lock held: it must not block or call into the stack.
//
// The splice ends (Done) when both directions have passed their FIN on,
// or when one fails: its source or its destination ended with an error
// (a reset, a retransmission timeout) or was closed. Stop ends it
// earlier. It never closes a or b: the caller closes them after Done or
// Stop, and resets the one whose peer should learn that its stream was
// cut, as the status says (SrcReset, DstReset, Pending). Read and Write must not be called on a or b
// while they are spliced.
func SpliceConns(a, b *Conn, onMove [2]func(n int)) (*Splice, error) {
	l := a.l
	l.lock.Lock()
	defer l.lock.Unlock()
	for _, c := range []*Conn{a, b} {
		if c.l != l || c.sp != nil || c.f&(fUserClosed|fRdClosed|fWriting|fRdWait|fWrWait|fWlWait) != 0 || c.err() != nil ||
			(c.state != Established && c.state != CloseWait && c.state != FinWait1 && c.state != FinWait2) {
			return nil, ErrSpliced
		}
	}
	if a == b {
		return nil, ErrSpliced
	}
	s := &Splice{l: l, c: [2]*Conn{a, b}, onMov: onMove, done: make(chan struct{}), last: l.now()}
	a.sp, b.sp = s, s
	a.cnt().Splices++
	s.pump()
	return s, nil
}

// Done is closed when the splice has ended.
func (s *Splice) Done() <-chan struct{} { return s.done }

// Idle is how long ago the splice last moved a byte (or began).
func (s *Splice) Idle() time.Duration {
	s.l.lock.Lock()
	defer s.l.lock.Unlock()
	return s.l.now() - s.last
}

// Stop ends the splice, if it has not ended, and returns its status. The
// connections are left as they are, for the caller to close or abort.
func (s *Splice) Stop() SpliceStatus {
	s.l.lock.Lock()
	defer s.l.lock.Unlock()
	s.end()
	var st SpliceStatus
	for i := range s.d {
		d := &s.d[i]
		st.Bytes[i], st.EOF[i] = d.n, d.eof
		st.SrcReset[i], st.DstReset[i] = d.srcReset, d.dstReset
		st.Err[i], st.ErrAtDst[i] = d.err, d.errAtDst
		st.Pending[i] = s.c[i].rxLen() > 0
	}
	return st
}

// end stops moving data and detaches the connections.
func (s *Splice) end() {
	if s.ended {
		return
	}
	s.ended = true
	for _, c := range s.c {
		if c.sp == s {
			c.sp = nil
		}
	}
	close(s.done)
}

// pump moves what can be moved both ways and passes FINs and failures
// on. It runs with the lock held, whenever either connection's state
// changes (notify, finish).
func (s *Splice) pump() {
	if s.busy {
		s.again = true // called back through finish: run again after
		return
	}
	s.busy = true
	set := s.l.cacheNow()
	for again := true; again && !s.ended; {
		s.again = false
		s.pumpDir(0)
		s.pumpDir(1)
		again = s.again
	}
	if !s.ended && s.d[0].eof && s.d[1].eof {
		s.end()
	}
	s.l.uncache(set)
	s.busy = false
}

// pumpDir runs direction i: src's data, FIN or failure to dst.
func (s *Splice) pumpDir(i int) {
	d := &s.d[i]
	if s.ended || d.eof {
		return
	}
	src, dst := s.c[i], s.c[1-i]
	if src.f&fUserClosed != 0 || dst.f&fUserClosed != 0 {
		// Closed under the splice (not through Stop): nothing more
		// can move.
		s.end()
		return
	}
	if err := src.err(); err != nil {
		s.fail(d, err, false)
		return
	}
	moved := 0
	for src.rxLen() > 0 {
		if err := dst.writeErr(); err != nil {
			s.fail(d, err, true)
			return
		}
		p1, p2 := src.rx.inOrder()
		k := dst.txAppend(p1)
		if k == len(p1) && len(p2) > 0 {
			k += dst.txAppend(p2)
		}
		if k == 0 {
			break // dst's ring is full: its ACKs will pump again
		}
		src.rx.discard(k)
		src.afterRead(k)
		moved += k
		if f := s.onMov[i]; f != nil {
			f(k)
		}
	}
	if moved > 0 {
		d.n += int64(moved)
		s.last = s.l.now()
		dst.output()
	}
	if src.rxLen() == 0 && src.f&fFinRcvd != 0 {
		// As CloseWrite: a destination already closed for writing
		// takes the FIN as done.
		if err := dst.err(); err != nil {
			s.fail(d, err, true)
			return
		}
		dst.shutWrite()
		d.eof = true
	}
}

// fail ends direction d with err, met on its destination (atDst) or its
// source, and ends the splice; the caller learns from the status which
// connection to reset.
func (s *Splice) fail(d *spliceDir, err error, atDst bool) {
	d.err, d.errAtDst = err, atDst
	if errors.Is(err, ErrReset) {
		if atDst {
			d.dstReset = true
		} else {
			d.srcReset = true
		}
	}
	s.end()
}
