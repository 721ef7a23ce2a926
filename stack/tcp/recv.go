package tcp

// The receive side (RFC 9293 §3.10.7.4, seventh check: segment text into
// the receive ring and its window) and the peer's FIN, with TIME_WAIT.

// receive stores segment text (§3.10.7.4 seventh) and decides how to ACK
// (RFC 9293 §3.8.6.3, RFC 5681 §4.2).
func (c *Conn) receive(s *segment) {
	l := c.l
	seq, p := s.seq, s.payload
	if seqLT(seq, c.rcvNxt) {
		d := int(c.rcvNxt - seq)
		if d >= len(p) {
			c.f |= fAckNow
			return
		}
		p, seq = p[d:], c.rcvNxt
	}
	edge := c.rcvAdv
	if !seqLT(seq, edge) {
		c.f |= fAckNow
		return
	}
	if seqGT(seq+uint32(len(p)), edge) {
		p = p[:edge-seq]
	}
	if len(p) == 0 {
		c.f |= fAckNow
		return
	}
	if c.f&fRdClosed != 0 {
		// CloseRead: acknowledge and discard in-order data.
		if seq == c.rcvNxt {
			c.rcvNxt += uint32(len(p))
			c.rcvAdv = seqMax(c.rcvAdv, c.rcvNxt)
		}
		c.f |= fAckNow
		return
	}
	k := int(seq - c.rcvNxt)
	if !c.rxReserve(c.rxLen() + k + len(p)) {
		l.drop(c.id.raddr, DropMemory)
		c.f |= fAckNow
		return
	}
	r := c.rx
	if k+len(p) > len(r.buf)-r.n { // cannot happen: the window bounds it
		p = p[:max(len(r.buf)-r.n-k, 0)]
	}
	if seq == c.rcvNxt {
		r.put(0, p)
		r.n += len(p)
		c.rcvNxt += uint32(len(p))
		filled := r.advance(&c.rcvNxt)
		if filled || r.nooo > 0 {
			c.f |= fAckNow // RFC 5681 §4.2: ACK at once when filling a gap
			return
		}
		c.unacked++
		if len(p) > c.l.mssFor(c.id.raddr) {
			// Segments merged by the device (netif.Offloads.LargeReceive):
			// more than one full-sized segment, so ACK at once (RFC 5681
			// §4.2), as for two.
			c.unacked = 2
			c.cnt().LargeSegmentsIn++
		}
		if c.quick > 0 {
			c.quick--
			c.ackAtBatchEnd()
		} else if c.unacked >= 2 {
			c.ackAtBatchEnd()
		} else {
			c.f |= fDelAck
		}
		return
	}
	if !r.addOOO(span{seq, seq + uint32(len(p))}) {
		l.drop(c.id.raddr, DropOOOFull)
		c.f |= fAckNow
		return
	}
	r.put(k, p)
	c.f |= fAckNow // duplicate ACK with SACK info
}

// onFin processes the peer's FIN (§3.10.7.4 eighth).
func (c *Conn) onFin() {
	c.rcvNxt++
	c.f |= fFinRcvd | fAckNow
	switch c.state {
	case SynReceived, Established:
		c.setState(CloseWait)
	case FinWait1:
		if c.f&fFinSent != 0 && seqGT(c.sndUna, c.finSeq) {
			c.enterTimeWait()
		} else {
			c.setState(Closing)
		}
	case FinWait2:
		c.enterTimeWait()
	case TimeWait:
		c.l.after(&c.ackOrEnd, c.l.cfg.TimeWait)
	}
}

// enterTimeWait starts the 2MSL wait; buffers are released at once.
// Beyond Config.MaxTimeWait connections in TIME_WAIT, the connection is
// closed at once instead (as Linux does on bucket overflow).
func (c *Conn) enterTimeWait() {
	l := c.l
	if l.states[TimeWait] >= l.cfg.MaxTimeWait {
		if c.f&fAckNow != 0 {
			c.sendAck()
		}
		c.finish(nil)
		return
	}
	c.setState(TimeWait)
	l.q.Stop(&c.rtx)
	c.tmode = tmNone
	c.releaseTx()
	if c.f&fUserClosed != 0 {
		c.releaseRx()
	}
	if c.f&fAckNow != 0 {
		c.sendAck()
	}
	l.after(&c.ackOrEnd, l.cfg.TimeWait)
}
