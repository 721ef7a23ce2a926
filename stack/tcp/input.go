package tcp

import "time"

// input runs the RFC 9293 §3.10.7 SEGMENT ARRIVES processing for an
// existing connection.
func (c *Conn) input(s *segment) {
	l := c.l
	switch c.state {
	case Closed, Listen:
		return
	case SynSent:
		c.inputSynSent(s)
		c.notify()
		return
	}
	// RFC 9293 §3.10.7.4 note / RFC 6191: a new SYN may reopen a
	// TIME_WAIT connection when it is clearly newer.
	if c.state == TimeWait && s.flags&(FlagSYN|FlagACK|FlagRST) == FlagSYN {
		newer := seqGT(s.seq, c.rcvNxt)
		if c.f&fTS != 0 && s.opt.HasTS {
			newer = seqGT(s.opt.TSVal, c.tsRecent)
		}
		if ln := l.listeners[c.id.lport]; newer && ln != nil {
			c.finish(nil)
			ln.input(c.id, s)
			return
		}
	}
	// RFC 7323 §5.3 PAWS, before the acceptability test.
	if c.f&fTS != 0 && s.opt.HasTS && !s.has(FlagRST) && seqLT(s.opt.TSVal, c.tsRecent) {
		l.drop(DropPAWS)
		c.invalidAck(s)
		return
	}
	// A retransmitted SYN in SYN_RECEIVED: our SYN-ACK was lost.
	if c.state == SynReceived && s.flags&(FlagSYN|FlagACK|FlagRST) == FlagSYN && s.seq == c.irs {
		c.sendSYN()
		return
	}
	// First: sequence number acceptability (§3.10.7.4).
	if !c.acceptable(s) {
		if c.rcvWndNow() == 0 && s.seq == c.rcvNxt && s.flags&(FlagACK|FlagRST|FlagSYN) == FlagACK {
			// Zero window: still take the ACK (§3.10.7.4 "special allowance").
			s.payload, s.flags = nil, s.flags&^FlagFIN
			c.f |= fAckNow
		} else {
			l.drop(DropOutOfWindow)
			if !s.has(FlagRST) {
				if c.state == TimeWait && s.has(FlagFIN) {
					l.after(&c.dack, l.cfg.TimeWait) // retransmitted FIN restarts 2MSL
				}
				c.invalidAck(s)
			}
			return
		}
	}
	c.lastRecv = l.now()
	c.keepProbes = 0
	// Second: RST (RFC 5961 §3.2).
	if s.has(FlagRST) {
		if s.seq == c.rcvNxt {
			c.onReset()
		} else if l.challengeAllowed(c) {
			c.sendAck()
		}
		return
	}
	// Fourth: SYN in a synchronized state (RFC 5961 §4).
	if s.has(FlagSYN) {
		if c.state == SynReceived && c.f&fActive == 0 {
			// RFC 9293: a passive SYN_RECEIVED goes back to LISTEN.
			c.finish(ErrReset)
			return
		}
		if l.challengeAllowed(c) {
			c.sendAck()
		}
		return
	}
	// Fifth: ACK.
	if !s.has(FlagACK) {
		return
	}
	// RFC 7323 §4.3: TS.Recent is the TSval of the segment that
	// Last.ACK.sent points into, so a delayed ACK echoes the earliest.
	if c.f&fTS != 0 && s.opt.HasTS && seqLEQ(s.seq, c.lastAck) {
		c.tsRecent = s.opt.TSVal
	}
	if c.state == SynReceived {
		if !seqLT(c.sndUna, s.ack) || seqGT(s.ack, c.sndMax) {
			l.drop(DropBadAck)
			l.sendRST(c.id, s.ack, 0, FlagRST)
			return
		}
		if !c.establish(s) {
			return
		}
	}
	if !c.processAck(s) {
		return
	}
	finAcked := c.f&fFinSent != 0 && seqGT(c.sndUna, c.finSeq)
	switch c.state {
	case FinWait1:
		if finAcked {
			c.setState(FinWait2)
			if c.f&fUserClosed != 0 {
				l.after(&c.dack, l.cfg.TimeWait) // orphan FIN_WAIT_2 timeout
			}
		}
	case Closing:
		if finAcked {
			c.enterTimeWait()
		}
	case LastAck:
		if finAcked {
			c.finish(nil)
			return
		}
	}
	// Sixth (URG) is ignored: urgent data stays inline (RFC 6093).
	// Seventh: segment text.
	if len(s.payload) > 0 {
		switch c.state {
		case Established, FinWait1, FinWait2:
			if c.f&fUserClosed != 0 && seqGT(s.seq+uint32(len(s.payload)), c.rcvNxt) {
				// New data for a closed socket: RFC 9293 §3.10.7.4 / RFC
				// 1122 §4.2.2.13 reset.
				c.abortRST(ErrClosed)
				return
			}
			c.receive(s)
		}
	}
	// Eighth: FIN, processed only in order.
	if s.has(FlagFIN) && s.seq+uint32(len(s.payload)) == c.rcvNxt {
		c.onFin()
	}
	if c.state != Closed {
		c.output()
		if c.state == Closed {
			return
		}
		if c.f&fDelAck != 0 && !c.dack.Pending() {
			l.after(&c.dack, l.cfg.DelayedAck)
		}
	}
	c.notify()
}

// invalidAck answers a non-RST segment that failed PAWS or the
// acceptability test with an ACK (RFC 7323 §5.3, RFC 9293 §3.10.7.4),
// within the rate limits: a SYN gets an RFC 5961 §4 challenge ACK
// (challengeAllowed), anything else goes through invalidAckAllowed.
func (c *Conn) invalidAck(s *segment) {
	if s.has(FlagSYN) {
		if c.l.challengeAllowed(c) {
			c.sendAck()
		}
		return
	}
	if c.invalidAckAllowed(s) {
		c.sendAck()
	}
}

// invalidAckAllowed applies Config.InvalidAckInterval (RFC 5961 §10, as
// Linux's tcp_invalid_ratelimit): at most one such ACK per interval and
// connection. Exempt are old duplicates carrying data or a FIN, ending at
// or before RCV.NXT and within a receive buffer of it (a retransmission
// whose ACK was lost, a retransmitted FIN in TIME_WAIT, a 1-byte
// keepalive probe): they are not part of an ACK loop, their ACK is what
// recovers a lost one, and a blind attacker rarely hits that range.
// Zero-length keepalive probes (SEG.SEQ = RCV.NXT-1) have a budget of
// their own, which junk at other sequence numbers cannot use up. Times
// are kept as 32-bit milliseconds: an ACK more than 49 days after the
// previous one may be suppressed by mistake, once.
func (c *Conn) invalidAckAllowed(s *segment) bool {
	l := c.l
	iv := l.cfg.InvalidAckInterval
	if iv < 0 {
		return true
	}
	n := s.seqLen()
	if n > 0 && seqLEQ(s.seq+n, c.rcvNxt) && seqGEQ(s.seq, c.rcvNxt-uint32(l.cfg.RecvBuffer)) {
		return true
	}
	bit, at := fOOWAck, &c.oowAt
	if n == 0 && s.seq == c.rcvNxt-1 {
		bit, at = fProbeAck, &c.probeAt
	}
	now := uint32(l.now() / time.Millisecond)
	if c.f&bit != 0 && time.Duration(now-*at)*time.Millisecond < iv {
		l.stats.OutOfWindowAcksLimited++
		return false
	}
	c.f |= bit
	*at = now
	return true
}

// notify wakes waiting readers and writers that may now make progress.
func (c *Conn) notify() {
	if c.f&fRdWait != 0 && (c.rxLen() > 0 || c.f&fFinRcvd != 0 || c.state == Closed) {
		c.wake(fRdWait)
	}
	// Writers wake at a low-water mark (a quarter of the buffer free), so
	// a bulk writer copies in large chunks rather than per ACK.
	if c.f&fWrWait != 0 && c.state != SynSent && c.state != SynReceived &&
		(c.txFree() >= c.l.cfg.SendBuffer/4 || c.writeErr() != nil) {
		c.wake(fWrWait)
	}
}

func (c *Conn) rcvWndNow() uint32 {
	if seqGT(c.rcvAdv, c.rcvNxt) {
		return c.rcvAdv - c.rcvNxt
	}
	return 0
}

// acceptable is the §3.10.7.4 four-case test.
func (c *Conn) acceptable(s *segment) bool {
	wnd := c.rcvWndNow()
	n := s.seqLen()
	switch {
	case n == 0 && wnd == 0:
		return s.seq == c.rcvNxt
	case n == 0:
		return seqIn(s.seq, c.rcvNxt, c.rcvNxt+wnd)
	case wnd == 0:
		return false
	default:
		return seqIn(s.seq, c.rcvNxt, c.rcvNxt+wnd) || seqIn(s.seq+n-1, c.rcvNxt, c.rcvNxt+wnd)
	}
}

// inputSynSent is §3.10.7.3.
func (c *Conn) inputSynSent(s *segment) {
	l := c.l
	if s.has(FlagACK) && (seqLEQ(s.ack, c.iss) || seqGT(s.ack, c.sndMax)) {
		l.drop(DropBadAck)
		if !s.has(FlagRST) {
			l.sendRST(c.id, s.ack, 0, FlagRST)
		}
		return
	}
	if s.has(FlagRST) {
		if s.has(FlagACK) {
			l.stats.ResetsRecv++
			c.finish(ErrRefused)
		}
		return
	}
	if !s.has(FlagSYN) {
		return
	}
	c.irs = s.seq
	c.rcvNxt = s.seq + 1
	c.rcvAdv = c.rcvNxt
	c.negotiate(&s.opt)
	c.lastRecv = l.now()
	if !s.has(FlagACK) {
		// Simultaneous open (§3.5 figure 7).
		c.setState(SynReceived)
		c.sndWnd = uint32(s.wnd)
		c.sndWl1, c.sndWl2 = s.seq, c.iss
		c.sendSYN()
		c.armRTX()
		return
	}
	if c.retries == 0 {
		c.rttSample(l.now() - c.rttAt) // SYN not retransmitted (Karn)
	}
	c.sndUna = s.ack
	c.sndNxt = seqMax(c.sndNxt, s.ack)
	c.sndWnd = uint32(s.wnd) // not scaled in a SYN (RFC 7323 §2.2)
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = s.seq, s.ack
	c.backoff = 0
	c.setState(Established)
	l.stats.ActiveOpens++
	l.q.Stop(&c.rtx)
	c.tmode = tmNone
	if len(s.payload) > 0 {
		s.seq++
		c.receive(s)
		s.seq--
	}
	if s.has(FlagFIN) && s.seq+1+uint32(len(s.payload)) == c.rcvNxt {
		c.onFin()
	}
	c.f |= fAckNow
	c.output()
}

// establish completes a handshake in SYN_RECEIVED (§3.10.7.4 fifth).
func (c *Conn) establish(s *segment) bool {
	l := c.l
	if ln := c.ln; ln != nil {
		if len(ln.queue) >= cap(ln.queue) || ln.closed {
			l.drop(DropBacklogFull) // stay half-open; the peer retries
			return false
		}
		ln.halfOpen--
		ln.queue = append(ln.queue, c)
		l.stats.PassiveOpens++
	} else {
		l.stats.ActiveOpens++
	}
	c.sndWnd = uint32(s.wnd) << c.sndWS
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = s.seq, s.ack
	if c.retries == 0 && c.f&fTS == 0 {
		c.rttSample(l.now() - c.rttAt)
	}
	c.backoff = 0
	c.retries = 0
	c.setState(Established)
	l.q.Stop(&c.rtx)
	c.tmode = tmNone
	if c.ln != nil {
		c.ln.wake()
	}
	return true
}

// processAck is the ACK part of §3.10.7.4 fifth check with RFC 5961 §5.2.
// It reports whether processing continues.
func (c *Conn) processAck(s *segment) bool {
	l := c.l
	if seqGT(s.ack, c.sndMax) {
		// RFC 5961 §5.2: discard and ACK (rate-limited like challenge ACKs).
		l.drop(DropBadAck)
		if l.challengeAllowed(c) {
			c.sendAck()
		}
		return false
	}
	if seqLT(s.ack, c.sndUna-c.maxSndWnd) {
		l.drop(DropBadAck)
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
			l.stats.SpuriousRetransmits++
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
	c.l.stats.FastRetransmits++
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
		l.drop(DropMemory)
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
		if len(p) > c.l.mss {
			// Segments merged by the device (netif.Offloads.LargeReceive):
			// more than one full-sized segment, so ACK at once (RFC 5681
			// §4.2), as for two.
			c.unacked = 2
			c.l.stats.LargeSegmentsIn++
		}
		if c.quick > 0 {
			c.quick--
			c.f |= fAckNow
		} else if c.unacked >= 2 {
			c.f |= fAckNow
		} else {
			c.f |= fDelAck
		}
		return
	}
	if !r.addOOO(span{seq, seq + uint32(len(p))}) {
		l.drop(DropOOOFull)
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
		c.l.after(&c.dack, c.l.cfg.TimeWait)
	}
}

// enterTimeWait starts the 2MSL wait; buffers are released at once.
// Beyond Config.MaxTimeWait connections in TIME_WAIT, the connection is
// closed at once instead (as Linux does on bucket overflow).
func (c *Conn) enterTimeWait() {
	l := c.l
	if l.stats.States[TimeWait] >= l.cfg.MaxTimeWait {
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
	l.after(&c.dack, l.cfg.TimeWait)
}
