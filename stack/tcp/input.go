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
		if ln := l.listeners[c.id.lport].find(c.id.laddr); newer && ln != nil {
			c.finish(nil)
			ln.input(c.id, s)
			return
		}
	}
	// RFC 7323 §5.3 PAWS, before the acceptability test.
	if c.f&fTS != 0 && s.opt.HasTS && !s.has(FlagRST) && seqLT(s.opt.TSVal, c.tsRecent) {
		l.drop(c.id.raddr, DropPAWS)
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
			l.drop(c.id.raddr, DropOutOfWindow)
			if !s.has(FlagRST) {
				if c.state == TimeWait && s.has(FlagFIN) {
					l.after(&c.ackOrEnd, l.cfg.TimeWait) // retransmitted FIN restarts 2MSL
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
			l.drop(c.id.raddr, DropBadAck)
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
				l.after(&c.ackOrEnd, l.cfg.TimeWait) // orphan FIN_WAIT_2 timeout
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
		if c.f&fDelAck != 0 && !c.ackOrEnd.Pending() {
			l.after(&c.ackOrEnd, l.cfg.DelayedAck)
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
		c.cnt().OutOfWindowAcksLimited++
		return false
	}
	c.f |= bit
	*at = now
	return true
}

// notify wakes waiting readers and writers that may now make progress.
func (c *Conn) notify() {
	if c.sp != nil {
		c.sp.pump()
	}
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
		l.drop(c.id.raddr, DropBadAck)
		if !s.has(FlagRST) {
			l.sendRST(c.id, s.ack, 0, FlagRST)
		}
		return
	}
	if s.has(FlagRST) {
		if s.has(FlagACK) {
			c.cnt().ResetsRecv++
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
	c.cnt().ActiveOpens++
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
			l.drop(c.id.raddr, DropBacklogFull) // stay half-open; the peer retries
			return false
		}
		ln.halfOpen--
		ln.queue = append(ln.queue, c)
		c.cnt().PassiveOpens++
	} else {
		c.cnt().ActiveOpens++
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
