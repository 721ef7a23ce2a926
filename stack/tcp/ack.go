package tcp

import "time"

// Acknowledgement processing (RFC 9293 §3.10.7.4, fifth check), RTT
// samples, duplicate ACKs and fast recovery (RFC 5681, RFC 6582, RFC
// 6675).

// processAck is the ACK part of §3.10.7.4 fifth check with RFC 5961 §5.2.
// It reports whether processing continues.
func (c *Conn) processAck(s *segment) bool {
	l := c.l
	if seqGT(s.ack, c.sndMax) {
		// RFC 5961 §5.2: discard and ACK (rate-limited like challenge ACKs).
		l.drop(c.id.raddr, DropBadAck)
		if l.challengeAllowed(c) {
			c.sendAck()
		}
		return false
	}
	if seqLT(s.ack, c.sndUna-c.maxSndWnd) {
		l.drop(c.id.raddr, DropBadAck)
		if l.challengeAllowed(c) {
			c.sendAck()
		}
		return false
	}
	wnd := uint32(s.wnd) << c.sndWS
	newSACK := false
	if c.f&fSACK != 0 && s.opt.NumSACK > 0 {
		before := c.sackedBytes()
		c.sbUpdate(&s.opt)
		newSACK = c.sackedBytes() > before
	}
	if c.f&fTLP != 0 && seqGEQ(s.ack, c.tlpEnd) {
		c.tlpAck(s, wnd)
	}
	if seqGT(s.ack, c.sndUna) {
		c.ackAdvance(s)
		switch {
		case c.f&fRecovery != 0:
		case c.probeSacked() && seqGT(c.sndUna, c.recover):
			c.enterRecovery() // the loss probe was SACKed above a hole
		case newSACK && c.sndUna != c.sndMax:
			// RFC 6675 §2: with SACK, an ACK bringing new SACK information
			// counts as a duplicate ACK even if it also advances SND.UNA
			// (the receiver held a delayed ACK and sent it when a segment
			// arrived above a hole). Without this, a short flight with one
			// loss draws too few duplicate ACKs and waits for the RTO.
			c.dupAck()
		}
	} else if s.ack == c.sndUna && len(s.payload) == 0 && s.flags&(FlagSYN|FlagFIN) == 0 &&
		c.sndUna != c.sndMax && (wnd == c.sndWnd || s.opt.NumSACK > 0) {
		c.dupAck()
	}
	// Window update (§3.10.7.4: SND.WL1 < SEG.SEQ or WL1 = SEQ and WL2 =< ACK).
	if seqLT(c.sndWl1, s.seq) || (c.sndWl1 == s.seq && seqLEQ(c.sndWl2, s.ack)) {
		opened := wnd > c.sndWnd
		c.sndWnd = wnd
		c.sndWl1, c.sndWl2 = s.seq, s.ack
		c.maxSndWnd = max(c.maxSndWnd, wnd)
		if opened && c.tmode == tmPersist {
			l.q.Stop(&c.rtx)
			c.tmode = tmNone
			c.backoff = 0
		}
	}
	if c.tmode == tmPersist {
		// The peer answered while we probe its zero window: it is alive,
		// so the user timeout starts again from the next unanswered
		// probe (RFC 9293 §3.8.6.1, MUST-37: a receiver that keeps
		// answering keeps the connection open).
		c.rtxStart = 0
	}
	return true
}

// ackAdvance handles an ACK of new data.
func (c *Conn) ackAdvance(s *segment) {
	l := c.l
	acked := s.ack - c.sndUna
	// RTT (RFC 7323 §4.3 with timestamps, else one timed segment, Karn).
	if c.f&fTS != 0 && s.opt.HasTS && s.opt.TSEcr != 0 {
		ms := l.tsNow() + c.tsOff - s.opt.TSEcr
		if ms < 1<<31 {
			c.rttSample(time.Duration(ms) * time.Millisecond)
		}
	} else if c.f&fTiming != 0 && seqGT(s.ack, c.rttSeq) {
		c.f &^= fTiming
		c.rttSample(l.now() - c.rttAt)
	}
	if c.f&fUndo != 0 {
		// The first ACK for the retransmitted data: if it echoes a TSval
		// older than the retransmission, the original arrived and the
		// retransmission was spurious (RFC 3522); restore the window
		// (RFC 4015 response).
		c.f &^= fUndo
		if s.opt.HasTS && s.opt.TSEcr != 0 && seqLT(s.opt.TSEcr, c.rxtTS) {
			c.cnt().SpuriousRetransmits++
			c.cc.cwnd = max(c.cc.cwnd, c.undoCwnd)
			c.cc.ssthresh = max(c.cc.ssthresh, c.undoSsth)
		}
	}
	c.txAcked(s.ack)
	c.sndUna = s.ack
	if seqLT(c.sndNxt, c.sndUna) {
		c.sndNxt = c.sndUna
	}
	if seqLT(c.highRxt, c.sndUna) {
		c.highRxt = c.sndUna
	}
	if seqLT(c.sndSml, c.sndUna) {
		c.sndSml = c.sndUna
	}
	c.backoff = 0
	c.rtxStart = 0
	if c.f&fRecovery != 0 {
		if seqGT(s.ack, c.recover) {
			// Full ACK: leave recovery (RFC 6582 §3.2 step 3).
			c.f &^= fRecovery
			flight := c.sndMax - c.sndUna
			if c.f&fSACK != 0 {
				c.cc.cwnd = c.cc.ssthresh
			} else {
				c.cc.cwnd = min(c.cc.ssthresh, max(flight, uint32(c.smss()))+uint32(c.smss()))
			}
			c.dupAcks = 0
		} else if c.f&fSACK == 0 {
			// Partial ACK (RFC 6582 §3.2 step 4).
			c.retransmitFirst()
			m := uint32(c.smss())
			if c.cc.cwnd > acked {
				c.cc.cwnd -= acked
			} else {
				c.cc.cwnd = 0
			}
			if acked >= m {
				c.cc.cwnd += m
			}
			c.cc.cwnd = max(c.cc.cwnd, m)
		}
	} else {
		c.dupAcks = 0
		c.ccOnAck(acked)
	}
	if c.f&fRecovery == 0 && seqGT(c.sndUna-1, c.recover) {
		// Keep recover just below SND.UNA so "ACK > recover" stays
		// meaningful across sequence-number wrap.
		c.recover = c.sndUna - 1
	}
	// RFC 6298 §5.3: restart the timer; §5.2: stop it when all is acked.
	if c.sndUna == c.sndMax {
		if c.tmode == tmRTO || c.tmode == tmPTO {
			l.q.Stop(&c.rtx)
			c.tmode = tmNone
		}
	} else {
		c.restartRTO()
	}
}

// dupAck counts a duplicate ACK and enters fast recovery (RFC 5681 §3.2,
// RFC 6582, RFC 6675 §5).
func (c *Conn) dupAck() {
	c.dupAcks++
	if c.f&fRecovery != 0 {
		if c.f&fSACK == 0 {
			c.cc.cwnd += uint32(c.smss()) // inflate
		}
		return
	}
	lost := c.f&fSACK != 0 && c.tx != nil && c.tx.nsb > 0 && (seqGT(c.lostEdge(), c.sndUna) || c.probeSacked())
	// RFC 5827 Early Retransmit: with fewer than four segments out and
	// nothing new to send, DupThresh is the outstanding count less one.
	thresh := uint8(3)
	smss := uint32(c.smss())
	if oseg := (c.sndMax - c.sndUna + smss - 1) / smss; oseg < 4 && !c.unsent() {
		thresh = uint8(max(oseg, 2) - 1)
	}
	if c.dupAcks < thresh && !lost {
		return
	}
	// RFC 6582 §3.2 step 2: no new recovery until SND.UNA passes recover.
	if !seqGT(c.sndUna, c.recover) {
		return
	}
	c.enterRecovery()
}

// enterRecovery starts fast recovery: RFC 6582 §3.2 step 2 (NewReno), RFC
// 6675 §5 step 4 (SACK).
func (c *Conn) enterRecovery() {
	c.cnt().FastRetransmits++
	c.f |= fRecovery
	c.f &^= fTLP | fTLPRxt // RFC 8985 §7.1: no probe episode in recovery
	// RFC 6582 §3.2 step 2: recover is the highest sequence number sent
	// (SND.MAX-1), so that an ACK of everything sent is "more than
	// recover" and does not block the next fast retransmit.
	c.recover = c.sndMax - 1
	if c.f&fTS != 0 {
		// RFC 3522 Eifel detection: remember what to restore.
		c.f |= fUndo
		c.undoCwnd, c.undoSsth = c.cc.cwnd, c.cc.ssthresh
		c.rxtTS = c.l.tsNow() + c.tsOff
	}
	c.ccOnLoss()
	c.highRxt = c.sndUna
	if c.f&fSACK != 0 {
		c.cc.cwnd = c.cc.ssthresh
	} else {
		c.cc.cwnd = c.cc.ssthresh + 3*uint32(c.smss())
		c.retransmitFirst()
	}
}

// rttSample updates SRTT, RTTVAR and RTO (RFC 6298 §2).
func (c *Conn) rttSample(r time.Duration) {
	if r <= 0 {
		r = time.Millisecond
	}
	if c.srtt == 0 {
		c.srtt, c.rttvar = r, r/2
	} else {
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttvar = (3*c.rttvar + d) / 4
		c.srtt = (7*c.srtt + r) / 8
	}
	c.f &^= fTLPNoRTT
	c.rto = min(max(c.srtt+max(time.Millisecond, 4*c.rttvar), c.l.cfg.MinRTO), c.l.cfg.MaxRTO)
}
