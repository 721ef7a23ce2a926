package tcp

import "time"

// Tail loss probe (RFC 8985 §7, the TLP half of RACK-TLP).
//
// When the last segments of a flight are lost there are no duplicate ACKs
// to start fast recovery, and the sender would wait for the RTO. Instead,
// while the connection is in the Open state the rtx timer runs as the
// probe timeout (tmPTO): PTO = 2*SRTT (at least 10ms), plus
// Config.TLPMaxAckDelay when at most one segment is in flight, 1s without
// an RTT sample, and never past the RTO's own expiry. When it fires, one
// probe goes out (new data if the peer's window allows, else the last
// SMSS sent again) and the RTO is armed. The probe's ACK either shows
// that nothing was lost, or carries SACK information that starts RFC 6675
// recovery of the rest, or, when the probe itself repaired the only loss,
// is detected by TLP.end_seq (§7.4) and answered with a congestion window
// reduction.
//
// RACK's time-based loss detection (RFC 8985 §6) is not implemented,
// except for the one inference the probe makes obvious: the probe went
// out at least an SRTT after every segment below it (setPTO), so when it
// is SACKed while data below it is still missing, that data is lost (as
// RACK would conclude with its reordering window bounded by SRTT), and
// fast recovery starts at once (probeSacked). Without it a probe for a
// flight lost whole would draw one duplicate ACK, below DupThresh.
//
// State: the fTLP, fTLPRxt and fTLPNoRTT flags, tlpEnd (TLP.end_seq),
// ptoAt and rtoAt; the rtx timer entry is shared with the RTO.

// usec is a now() value in microseconds, modulo 2^32 (ptoAt). Differences
// are exact while deadlines are less than 35 minutes away.
func usec(d time.Duration) uint32 { return uint32(d / time.Microsecond) }

// tlpOK reports whether the probe timer may stand in for the RTO (RFC 8985
// §7.2, §7.3): TLP on, SACK negotiated (§4), the Open state (not in fast
// recovery, not in RTO recovery, SND.NXT not moved back, nothing SACKed),
// no probe outstanding, and an RTT sample since the last probe.
func (c *Conn) tlpOK() bool {
	return c.f&(fSACK|fRecovery|fTLP|fTLPNoRTT) == fSACK && !c.l.cfg.DisableTLP &&
		c.sndNxt == c.sndMax && seqLT(c.recover, c.sndUna) &&
		(c.tx == nil || c.tx.nsb == 0) && c.state.synchronized()
}

// minPTO is the least probe timeout (before the delayed-ACK allowance),
// as in Linux's first TLP, max(2*SRTT, 10ms): on a LAN or a loopback
// link 2*SRTT is far below the host's scheduling noise, and the probe
// timer, which ACKs keep moving on, would fire (and be moved on) every
// 2*SRTT of a bulk transfer.
const minPTO = 10 * time.Millisecond

// pto is RFC 8985 §7.2 TLP_calc_PTO, before the bound by the RTO: 2*SRTT
// (at least minPTO), plus the peer's delayed-ACK allowance when at most
// one segment (one SMSS of data, or less, and perhaps our FIN) is in
// flight, since the peer may hold the ACK for it; 1s without an RTT
// sample.
func (c *Conn) pto() time.Duration {
	if c.srtt == 0 {
		return time.Second
	}
	d := max(2*c.srtt, minPTO)
	flight := c.sndMax - c.sndUna
	if c.f&fFinSent != 0 && flight > 0 {
		flight-- // our FIN, outstanding
	}
	if flight <= uint32(c.smss()) {
		d += c.l.cfg.TLPMaxAckDelay
	}
	return d
}

// setPTO arms the rtx timer as the probe timeout from now, given rtoExp,
// when the RTO would expire: PTO = min(pto(), rtoExp-now) (§7.2). When
// that is less than an SRTT, the probe could not draw an ACK that is not
// already on its way, and could not tell later segments lost
// (probeSacked): the RTO is armed instead. Like setRTO, a pending timer
// set for no later is left in place and onRTX moves it on (ptoAt).
func (c *Conn) setPTO(now, rtoExp time.Duration) {
	at := min(now+c.pto(), rtoExp)
	if at-now < c.srtt {
		c.setRTO(rtoExp)
		return
	}
	l := c.l
	c.rtoAt, c.ptoAt = rtoExp, usec(at)
	if (c.tmode == tmRTO || c.tmode == tmPTO) && c.rtx.Pending() && !l.q.When(&c.rtx).After(l.epoch.Add(at)) {
		c.tmode = tmPTO
		return
	}
	c.tmode = tmPTO
	l.q.Schedule(&c.rtx, l.epoch.Add(at))
}

// onPTO is RFC 8985 §7.3: the probe timer expired. If the connection may
// still probe (one probe at a time, an RTT sample since the last), send
// one probe and arm the RTO from now; otherwise the RTO keeps its expiry.
// Either way the RTO, not the PTO, is armed next.
func (c *Conn) onPTO() {
	if c.sndUna == c.sndMax {
		c.armRTX()
		return
	}
	at := c.rtoAt
	if c.tlpOK() && c.sendProbe() {
		at = c.l.now() + c.rto
	}
	c.setRTO(at)
}

// sendProbe sends a loss probe: the next new segment if there is unsent
// data and the peer's window takes some, else the highest-sequence
// segment sent again. The congestion window is neither consulted nor
// changed. It records TLP.end_seq and TLP.is_retrans (§7.3) and reports
// whether it sent.
func (c *Conn) sendProbe() bool {
	rxt := false
	if !c.sendData(c.smss(), true) {
		if !c.retransmitLast() {
			return false
		}
		rxt = true
	}
	c.cnt().TailLossProbes++
	c.f |= fTLP | fTLPNoRTT
	c.f &^= fTLPRxt
	if rxt {
		c.f |= fTLPRxt
	}
	c.tlpEnd = c.sndNxt
	return true
}

// retransmitLast resends the last SMSS of data below SND.MAX, with our FIN
// if it was sent. It reports whether there was anything to send.
func (c *Conn) retransmitLast() bool {
	end := c.sndMax
	fin := c.f&fFinSent != 0
	if fin {
		end = c.finSeq
	}
	start := c.sndUna
	if seqGT(end, start) && end-start > uint32(c.smss()) {
		start = end - uint32(c.smss())
	}
	n := 0
	if seqGT(end, start) {
		n = int(end - start)
	} else {
		start = end
	}
	if n == 0 && !fin {
		return false
	}
	flags := uint8(FlagACK)
	if n > 0 {
		flags |= FlagPSH
	}
	if fin {
		flags |= FlagFIN
	}
	if !c.sendSegment(flags, start, n) {
		return false
	}
	c.cnt().Retransmits++
	if c.f&fTiming != 0 && seqLEQ(start, c.rttSeq) {
		c.f &^= fTiming // Karn
	}
	return true
}

// tlpAck is RFC 8985 §7.4.2 TLP_process_ack, for an ACK at or above
// TLP.end_seq (before SND.UNA moves): it ends the probe's episode when the
// probe was new data, or when the peer shows it had the data the probe
// resent (a D-SACK for it, or a duplicate ACK without SACK: the original
// and the probe both arrived), or when the ACK goes beyond TLP.end_seq
// without such a sign: then the probe repaired a loss (or the original,
// the probe or an ACK was lost, which the RFC says to take as the same),
// and the sender reduces its window as for a fast retransmit. An ACK of
// exactly TLP.end_seq leaves the episode open: the duplicate ACK that
// would clear the probe may follow.
func (c *Conn) tlpAck(s *segment, wnd uint32) {
	switch {
	case c.f&fTLPRxt == 0:
		// The probe of new data was delivered.
	case c.dsackProbe(s):
		// Case 1: the original and the probe both arrived.
	case seqGT(s.ack, c.tlpEnd):
		c.cnt().TailLossProbeRepairs++
		c.ccOnLoss()
		c.cc.cwnd = min(c.cc.cwnd, c.cc.ssthresh)
	case s.ack == c.sndUna && len(s.payload) == 0 && s.flags&(FlagSYN|FlagFIN) == 0 &&
		s.opt.NumSACK == 0 && wnd == c.sndWnd:
		// Case 2: a duplicate ACK without SACK: both arrived.
	default:
		return
	}
	c.f &^= fTLP | fTLPRxt
}

// dsackProbe reports whether the ACK's first SACK block is a D-SACK (RFC
// 2883 §4: below the cumulative ACK, or inside the second block) for the
// data the probe resent, which ends at TLP.end_seq (or just before, when
// the probe carried our FIN).
func (c *Conn) dsackProbe(s *segment) bool {
	if s.opt.NumSACK == 0 {
		return false
	}
	b := s.opt.SACK[0]
	dup := seqLEQ(b.end, s.ack) ||
		s.opt.NumSACK > 1 && seqGEQ(b.start, s.opt.SACK[1].start) && seqLEQ(b.end, s.opt.SACK[1].end)
	return dup && seqLT(b.start, b.end) && seqLEQ(b.end, c.tlpEnd) && seqGEQ(b.end+1, c.tlpEnd)
}

// probeSacked reports whether the scoreboard covers the last data byte of
// the outstanding probe. The probe went out at least an SRTT after every
// segment below it (setPTO), so whatever below it is still missing is lost
// (RACK's conclusion, RFC 8985 §6.2, with the reordering window bounded
// by SRTT): fast recovery may start at once.
func (c *Conn) probeSacked() bool {
	t := c.tx
	if c.f&fTLP == 0 || t == nil || t.nsb == 0 {
		return false
	}
	last := c.tlpEnd - 1
	if c.f&fFinSent != 0 && c.tlpEnd == c.finSeq+1 {
		last-- // the FIN is not SACKed
	}
	for _, b := range t.sb[:t.nsb] {
		if seqLEQ(b.start, last) && seqGT(b.end, last) {
			return true
		}
	}
	return false
}
