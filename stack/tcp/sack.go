package tcp

// Sender-side SACK scoreboard and RFC 6675 loss recovery helpers. The
// scoreboard lives in the txChunk: sorted, disjoint ranges above SND.UNA
// that the peer reported received.

// sbUpdate merges the SACK blocks of an ACK into the scoreboard, ignoring
// blocks outside SND.UNA..SND.MAX (RFC 2018 §8: they may be D-SACKs or
// bogus).
func (c *Conn) sbUpdate(o *Options) {
	t := c.tx
	if t == nil {
		return
	}
	for i := 0; i < o.NumSACK; i++ {
		s := o.SACK[i]
		if !seqLT(s.start, s.end) || seqLEQ(s.end, c.sndUna) || seqGT(s.end, c.sndMax) {
			continue
		}
		if seqLT(s.start, c.sndUna) {
			s.start = c.sndUna
		}
		sbInsert(t, s)
	}
}

// sackedBytes is the number of bytes the scoreboard holds as SACKed.
func (c *Conn) sackedBytes() uint32 {
	t := c.tx
	if t == nil {
		return 0
	}
	var n uint32
	for _, b := range t.sb[:t.nsb] {
		n += b.end - b.start
	}
	return n
}

func sbInsert(t *txChunk, s span) {
	i := 0
	for i < t.nsb && seqLT(t.sb[i].end, s.start) {
		i++
	}
	j := i
	for j < t.nsb && seqLEQ(t.sb[j].start, s.end) {
		s.start = seqMin(s.start, t.sb[j].start)
		s.end = seqMax(s.end, t.sb[j].end)
		j++
	}
	if j == i {
		if t.nsb == maxScoreboard {
			return
		}
		copy(t.sb[i+1:t.nsb+1], t.sb[i:t.nsb])
		t.sb[i] = s
		t.nsb++
		return
	}
	t.sb[i] = s
	copy(t.sb[i+1:], t.sb[j:t.nsb])
	t.nsb -= j - i - 1
}

// sbTrim drops scoreboard ranges below una.
func (c *Conn) sbTrim(una uint32) {
	t := c.tx
	if t == nil {
		return
	}
	k := 0
	for k < t.nsb && seqLEQ(t.sb[k].end, una) {
		k++
	}
	if k > 0 {
		copy(t.sb[:], t.sb[k:t.nsb])
		t.nsb -= k
	}
	if t.nsb > 0 && seqLT(t.sb[0].start, una) {
		t.sb[0].start = una
	}
}

func (c *Conn) sbClear() {
	if c.tx != nil {
		c.tx.nsb = 0
	}
}

// sacked reports whether seq has been SACKed, and if so the end of its range.
func (c *Conn) sacked(seq uint32) (uint32, bool) {
	if c.tx == nil {
		return 0, false
	}
	for _, s := range c.tx.sb[:c.tx.nsb] {
		if seqIn(seq, s.start, s.end) {
			return s.end, true
		}
	}
	return 0, false
}

// lostEdge is the RFC 6675 IsLost boundary: every unSACKed byte below it
// is lost, because DupThresh discontiguous ranges or more than
// (DupThresh-1)*SMSS bytes are SACKed above it.
func (c *Conn) lostEdge() uint32 {
	t := c.tx
	if t == nil || t.nsb == 0 {
		return c.sndUna
	}
	bytes := 0
	smss := c.smss()
	for i := t.nsb - 1; i >= 0; i-- {
		bytes += int(t.sb[i].end - t.sb[i].start)
		if t.nsb-i >= 3 || bytes > 2*smss {
			return t.sb[i].start
		}
	}
	if c.f&fRecovery != 0 {
		return t.sb[0].start // recovery entered on DupThresh duplicate ACKs
	}
	return c.sndUna
}

// pipe estimates the bytes in flight (RFC 6675 §4 SetPipe): outstanding,
// less SACKed, less lost and not yet retransmitted.
func (c *Conn) pipe() int {
	out := int(c.sndMax - c.sndUna)
	t := c.tx
	if t == nil || t.nsb == 0 {
		return out
	}
	edge := c.lostEdge()
	lost := 0
	prev := c.sndUna
	for _, s := range t.sb[:t.nsb] {
		out -= int(s.end - s.start)
		if seqLEQ(s.start, edge) {
			hs := seqMax(prev, c.highRxt)
			if seqLT(hs, s.start) {
				lost += int(s.start - hs)
			}
		}
		prev = s.end
	}
	return max(out-lost, 0)
}

// nextLost returns the next lost, not yet retransmitted range to resend
// (RFC 6675 NextSeg rule 1), at most one SMSS.
func (c *Conn) nextLost() (uint32, int, bool) {
	t := c.tx
	if t == nil || t.nsb == 0 {
		return 0, 0, false
	}
	edge := c.lostEdge()
	prev := c.sndUna
	for _, s := range t.sb[:t.nsb] {
		if seqGT(s.start, edge) {
			break
		}
		start := seqMax(prev, c.highRxt)
		if seqLT(start, s.start) {
			return start, min(int(s.start-start), c.smss()), true
		}
		prev = s.end
	}
	return 0, 0, false
}
