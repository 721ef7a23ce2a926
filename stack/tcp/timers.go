package tcp

import "time"

// Each connection has three timer entries in the stack's one timer.Queue:
//
//	rtx       retransmission (SYN, data, FIN), or the tail loss probe standing
//	          in for it, or zero-window persist, or keepalive, whichever
//	          applies (tmode says which)
//	ackOrEnd  delayed ACK, or the end of TIME_WAIT (2MSL) or of an
//	          orphaned FIN_WAIT_2
//	dl        Read/Write deadlines while a user call waits

// restartRTO restarts the retransmission timer for RTO from now (RFC 6298
// §5.3) on an ACK of new data, and with it the loss probe timer (RFC 8985
// §7.2) when a probe may stand in for the RTO.
func (c *Conn) restartRTO() {
	now := c.l.now()
	if c.tlpOK() {
		c.setPTO(now, now+c.rto)
		return
	}
	c.setRTO(now + c.rto)
}

// setRTO arms the rtx timer as the RTO, to expire at at (a now() value).
// An RTO or PTO timer already pending for no later is left in place and
// onRTX moves it on when it fires (rtoAt), so a stream of ACKs costs no
// heap operations.
func (c *Conn) setRTO(at time.Duration) {
	l := c.l
	if (c.tmode == tmRTO || c.tmode == tmPTO) && c.rtx.Pending() && !l.q.When(&c.rtx).After(l.epoch.Add(at)) {
		c.tmode, c.rtoAt = tmRTO, at
		return
	}
	c.tmode, c.rtoAt = tmRTO, 0
	l.q.Schedule(&c.rtx, l.epoch.Add(at))
}

// armRTX makes the rtx timer match the connection's needs.
func (c *Conn) armRTX() {
	l := c.l
	switch c.state {
	case SynSent, SynReceived:
		if !c.rtx.Pending() || c.tmode != tmRTO {
			c.tmode = tmRTO
			c.rtoAt = 0
			l.after(&c.rtx, c.rto)
		}
		return
	case Closed, TimeWait:
		l.q.Stop(&c.rtx)
		c.tmode = tmNone
		return
	}
	if c.sndUna != c.sndMax {
		pending := c.rtx.Pending()
		switch {
		case c.tlpOK():
			if c.tmode == tmPTO && pending {
				return
			}
			// The probe timer stands in for the RTO; the RTO keeps its
			// expiry if it was running, else starts now (RFC 6298 §5.1).
			now := l.now()
			exp := now + c.rto
			if c.tmode == tmRTO && pending {
				exp = l.q.When(&c.rtx).Sub(l.epoch)
				if c.rtoAt != 0 {
					exp = c.rtoAt
				}
			}
			c.setPTO(now, exp)
		case c.tmode == tmPTO && pending:
			c.setRTO(c.rtoAt) // no probe now: back to the RTO it stood in for
		case !pending || c.tmode != tmRTO:
			c.tmode = tmRTO
			c.rtoAt = 0
			l.after(&c.rtx, c.rto)
		}
		return
	}
	if c.unsent() {
		// RFC 9293 §3.8.6.1: probe a zero window; §3.8.6.2.1: the
		// override timeout for data held back by sender SWS avoidance.
		if !c.rtx.Pending() || c.tmode != tmPersist {
			c.tmode = tmPersist
			l.after(&c.rtx, c.backedOff())
		}
		return
	}
	if c.f&fKeepAlive != 0 && c.state.synchronized() {
		if !c.rtx.Pending() || c.tmode != tmKeep {
			c.tmode = tmKeep
			l.q.Schedule(&c.rtx, l.epoch.Add(c.lastRecv+l.cfg.KeepIdle))
		}
		return
	}
	if c.tmode != tmNone {
		l.q.Stop(&c.rtx)
		c.tmode = tmNone
	}
}

// unsent reports whether data or a FIN waits to be sent.
func (c *Conn) unsent() bool {
	return c.finPending() || seqLT(c.sndNxt, c.sndBase+uint32(c.txLen()))
}

// backedOff is RTO << backoff, bounded by MaxRTO.
func (c *Conn) backedOff() time.Duration {
	d := c.rto
	for i := uint8(0); i < c.backoff && d < c.l.cfg.MaxRTO; i++ {
		d *= 2
	}
	return min(d, c.l.cfg.MaxRTO)
}

// onRTX is the rtx timer callback.
func (c *Conn) onRTX(now time.Time) {
	l := c.l
	mode := c.tmode
	switch mode {
	case tmRTO:
		if at := c.rtoAt; at != 0 {
			c.rtoAt = 0
			if now.Sub(l.epoch) < at {
				l.q.Schedule(&c.rtx, l.epoch.Add(at)) // restarted since armed
				return
			}
		}
	case tmPTO:
		if d := int32(c.ptoAt - usec(now.Sub(l.epoch))); d > 0 {
			l.q.Schedule(&c.rtx, now.Add(time.Duration(d)*time.Microsecond)) // restarted since armed
			return
		}
	}
	c.tmode = tmNone
	switch c.state {
	case Closed, TimeWait:
		return
	case SynSent, SynReceived:
		limit := l.cfg.SynRetries
		if c.state == SynReceived && c.f&fActive == 0 {
			limit = l.cfg.SynAckRetries
		}
		if int(c.retries) >= limit {
			c.finish(ErrTimeout)
			return
		}
		c.retries++
		c.backoff++
		c.cnt().RTOEvents++
		c.cnt().Retransmits++
		c.sendSYN()
		c.tmode = tmRTO
		l.after(&c.rtx, c.backedOff())
		return
	}
	switch mode {
	case tmRTO:
		c.onRTO()
	case tmPTO:
		c.onPTO()
	case tmPersist:
		c.onPersist()
	case tmKeep:
		c.onKeepalive()
	}
}

// onRTO is RFC 6298 §5.4-5.7 plus RFC 5482 user timeout.
func (c *Conn) onRTO() {
	l := c.l
	if c.sndUna == c.sndMax {
		c.armRTX()
		return
	}
	now := l.now()
	if c.rtxStart == 0 {
		// RFC 5482: the user timeout bounds how long data may stay
		// unacknowledged, so it runs from when the RTO that just
		// expired was armed (the oldest data's transmission, the last
		// ACK of new data, or a loss probe), not from this first RTO.
		c.rtxStart = max(now-c.rto, 1)
	}
	if now-c.rtxStart >= l.cfg.UserTimeout {
		c.finish(ErrTimeout)
		return
	}
	c.cnt().RTOEvents++
	c.ccOnRTO()
	if c.backoff < 30 {
		c.backoff++
	}
	c.rto = min(c.rto*2, l.cfg.MaxRTO) // §5.5 back off

	// RFC 8985 §7.1: RTO recovery ends any loss probe episode.
	c.f &^= fRecovery | fTiming | fUndo | fTLP | fTLPRxt
	c.dupAcks = 0
	c.recover = c.sndMax - 1 // RFC 6582 §3.2 step 1 after a timeout: the highest sequence number sent
	if c.backoff > 1 {
		c.sbClear() // the peer may have reneged
	}
	c.sndNxt = c.sndUna
	c.highRxt = c.sndUna
	c.sendData(int(c.cc.cwnd), false)
	c.tmode = tmRTO
	// As Linux (tcp_clamp_rto_to_user_timeout): fire no later than the
	// user timeout, so that the abort comes on time, not at the next
	// backed-off RTO.
	l.after(&c.rtx, min(c.rto, max(c.rtxStart+l.cfg.UserTimeout-now, time.Millisecond)))
}

// onPersist sends a zero-window probe: an ACK for old data (SEQ =
// SND.UNA-1), which makes the peer answer with its window.
func (c *Conn) onPersist() {
	l := c.l
	if !c.unsent() {
		c.output()
		return
	}
	if c.sndWnd != 0 {
		// Window too small for sender SWS avoidance: send what fits.
		c.sendData(int(c.cc.cwnd), true)
		c.armRTX()
		return
	}
	// RFC 9293 §3.8.6.1 (MUST-37): while the peer answers the probes
	// the connection stays open, however long its window stays shut
	// (processAck clears rtxStart on each answer); an application bounds
	// that with its deadlines. A peer that stops answering is dropped by
	// the user timeout (RFC 5482), counted from the first unanswered
	// probe.
	now := l.now()
	if c.rtxStart == 0 {
		c.rtxStart = now
	} else if now-c.rtxStart >= l.cfg.UserTimeout {
		c.finish(ErrTimeout)
		return
	}
	c.sendSegment(FlagACK, c.sndUna-1, 0)
	if c.backoff < 30 {
		c.backoff++
	}
	c.tmode = tmPersist
	// Probe no later than the user timeout, so that the abort comes on
	// time rather than at the next backed-off probe (as onRTO does).
	l.after(&c.rtx, min(c.backedOff(), max(c.rtxStart+l.cfg.UserTimeout-now, time.Millisecond)))
}

// onKeepalive is RFC 1122 §4.2.3.6: after KeepIdle without input, send
// up to KeepCount probes (SEQ = SND.NXT-1) KeepInterval apart.
func (c *Conn) onKeepalive() {
	l := c.l
	if c.f&fKeepAlive == 0 || !c.state.synchronized() {
		return
	}
	now := l.now()
	idle := now - c.lastRecv
	if c.keepProbes == 0 && idle < l.cfg.KeepIdle {
		c.tmode = tmKeep
		l.q.Schedule(&c.rtx, l.epoch.Add(c.lastRecv+l.cfg.KeepIdle))
		return
	}
	if int(c.keepProbes) >= l.cfg.KeepCount {
		c.finish(ErrTimeout)
		return
	}
	c.keepProbes++
	c.sendSegment(FlagACK, c.sndNxt-1, 0)
	c.tmode = tmKeep
	l.after(&c.rtx, l.cfg.KeepInterval)
}

// onAckOrEnd sends a delayed ACK or ends TIME_WAIT / orphaned FIN_WAIT_2.
func (c *Conn) onAckOrEnd(now time.Time) {
	switch c.state {
	case TimeWait:
		c.finish(nil)
	case FinWait2:
		if c.f&fUserClosed != 0 {
			c.finish(nil)
		} else if c.f&(fDelAck|fAckNow) != 0 {
			c.sendAck()
		}
	case Closed:
	default:
		if c.f&(fDelAck|fAckNow) != 0 {
			c.sendAck()
		}
	}
}

// onDeadline wakes waiters so they re-check their deadlines.
func (c *Conn) onDeadline(now time.Time) {
	c.f |= 0
	if c.f&fRdWait != 0 {
		c.wake(fRdWait)
	}
	if c.f&fWrWait != 0 {
		c.wake(fWrWait)
	}
	if c.f&fWlWait != 0 {
		c.wake(fWlWait)
	}
}
