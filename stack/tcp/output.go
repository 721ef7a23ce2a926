package tcp

import "github.com/mirago/mirago/stack/transport"

// windowField computes the window to advertise and moves RCV.ADV
// (receiver SWS avoidance, RFC 9293 §3.8.6.2.2: the right edge moves only
// by at least min(RCV.BUFF/2, MSS); it never moves left).
func (c *Conn) windowField(syn bool) uint16 {
	w := c.rxSpace()
	cur := uint32(0)
	if seqGT(c.rcvAdv, c.rcvNxt) {
		cur = c.rcvAdv - c.rcvNxt
	}
	if w > cur && w-cur < min(uint32(c.l.cfg.RecvBuffer/2), uint32(c.l.mssFor(c.id.raddr))) {
		w = cur
	}
	w = max(w, cur)
	var field uint32
	if syn {
		field = min(w, 0xffff)
		w = field
	} else {
		field = min(w>>c.rcvWS, 0xffff)
		w = field << c.rcvWS
	}
	if seqGT(c.rcvNxt+w, c.rcvAdv) {
		c.rcvAdv = c.rcvNxt + w
	}
	return uint16(field)
}

// sendSegment sends one segment with flags, starting at seq, carrying n
// bytes of the send ring. It reports false, having changed nothing but
// queueing c for the device, when the device is busy (txsched.go): the
// caller keeps the segment to send in c's next turn.
func (c *Conn) sendSegment(flags uint8, seq uint32, n int) bool {
	l := c.l
	if l.devBusy {
		c.cnt().DeviceBusy++
		c.deviceBusy()
		return false
	}
	f := Fields{SrcPort: c.id.lport, DstPort: c.id.rport, Seq: seq, Flags: flags}
	if flags&FlagACK != 0 {
		f.Ack = c.rcvNxt
	}
	adv := c.rcvAdv // windowField moves it; a refused segment advertised nothing
	var opts [40]byte
	var on int
	if flags&FlagSYN != 0 {
		f.Window = c.windowField(true)
		if c.state == SynSent {
			on = synOptions(opts[:], uint16(l.mssFor(c.id.raddr)), l.ourWS(), !l.cfg.DisableSACK, !l.cfg.DisableTimestamps, l.tsNow()+c.tsOff, 0)
		} else {
			on = synOptions(opts[:], uint16(l.mssFor(c.id.raddr)), c.wsOffer(), c.f&fSACK != 0, c.f&fTS != 0, l.tsNow()+c.tsOff, c.tsRecent)
		}
	} else {
		f.Window = c.windowField(false)
		var blocks [maxSACKBlocks]span
		nb := 0
		if c.f&fSACK != 0 && c.rx != nil && c.rx.nooo > 0 {
			// Options plus data must fit in the MSS (RFC 6691).
			room := int(c.mss) - n - 4
			if c.f&fTS != 0 {
				room -= 12
			}
			if k := min(room/8, 3); k > 0 {
				nb = c.rx.sackBlocks(blocks[:k])
			}
		}
		on = dataOptions(opts[:], c.f&fTS != 0, l.tsNow()+c.tsOff, c.tsRecent, blocks[:nb])
	}
	var p1, p2 []byte
	if n > 0 {
		p1, p2 = c.txSlices(seq, n)
	}
	seg := 0
	if n > c.smss() {
		seg = c.smss() // a TSO segment: sendData sized it (tsoLimit)
	}
	if err := l.send(c.id, &f, opts[:on], p1, p2, seg); busyErr(err) {
		c.rcvAdv = adv
		c.cnt().DeviceBusy++
		c.deviceBusy()
		return false
	}
	if flags&FlagACK != 0 {
		// A pending delayed-ACK timer is left to fire: onAckOrEnd finds
		// nothing owed and does nothing, and a delayed ACK owed before
		// it fires goes out then, early. This saves a heap removal and
		// insertion per ACK in bulk transfers.
		c.f &^= fAckNow | fDelAck | fAckBatch
		c.unacked = 0
		c.lastAck = c.rcvNxt
	}
	return true
}

// tsoLimit is the most payload one segment may carry when the device does
// TSO (netif.Offloads), in whole segments of SMSS: the device's limit for
// the peer's family less the headers every segment repeats (IP, TCP,
// timestamps; a TSO segment carries no SACK blocks, sendSegment leaves no
// room for them). 0 means one SMSS at a time.
func (c *Conn) tsoLimit() int {
	off := &c.l.off
	max := off.TSO4Max
	if !c.id.raddr.Is4() {
		max = off.TSO6Max
	}
	if max == 0 || !off.TxChecksum {
		return 0
	}
	smss := c.smss()
	lim := max - transport.NetworkHeaderLen(c.id.raddr) - HeaderLen
	if c.f&fTS != 0 {
		lim -= 12
	}
	lim -= lim % smss
	if lim <= smss {
		return 0
	}
	return lim
}

// wsOffer is the window shift to put in our SYN-ACK: ours if the peer
// offered scaling, else none.
func (c *Conn) wsOffer() int {
	if c.f&fPeerWS != 0 {
		return int(c.rcvWS)
	}
	return -1
}

// sendSYN (re)sends our SYN or SYN-ACK. One the device refuses goes in
// the connection's next turn (txsSYN); the SYN timer runs meanwhile.
func (c *Conn) sendSYN() {
	flags := uint8(FlagSYN)
	if c.state != SynSent {
		flags |= FlagACK
	}
	if !c.sendSegment(flags, c.iss, 0) {
		c.txs |= txsSYN
	}
	if c.sndMax == c.iss {
		c.sndMax = c.iss + 1
	}
	c.sndNxt = c.iss + 1
}

// sendAck sends a bare ACK. Its sequence number is SND.MAX, not SND.NXT:
// after an RTO rewinds SND.NXT the peer may already have everything up to
// SND.MAX, and a bare ACK below its RCV.NXT would be unacceptable. One
// the device refuses stays owed (fAckNow) and goes in the next turn.
func (c *Conn) sendAck() {
	if !c.sendSegment(FlagACK, c.sndMax, 0) {
		c.f |= fAckNow
	}
}

// finPending reports whether a FIN should follow the data (not yet past
// sndNxt).
func (c *Conn) finPending() bool {
	return c.f&fFinQueued != 0 && seqLEQ(c.sndNxt, c.sndBase+uint32(c.txLen()))
}

// output sends what the windows, the congestion controller and Nagle
// allow, then an ACK if one is still owed, and arms the timers.
func (c *Conn) output() {
	switch c.state {
	case Established, CloseWait, FinWait1, Closing, LastAck:
	case TimeWait, FinWait2:
		if c.f&fAckNow != 0 {
			c.sendAck()
		}
		return
	default:
		return
	}
	max0 := c.sndMax
	if c.txs&txsRtxFirst != 0 {
		// A fast retransmit the device refused (NewReno) goes first.
		c.txs &^= txsRtxFirst
		if c.f&fRecovery != 0 && c.sndUna != c.sndMax {
			c.retransmitFirst()
		}
	}
	if c.f&fRecovery != 0 && c.f&fSACK != 0 {
		c.sackRecoverySend()
	} else {
		for c.sendData(c.ccRoom(), false) {
		}
	}
	if c.f&fAckNow != 0 {
		c.sendAck()
	}
	c.armRTX()
	if c.tmode == tmPTO && c.sndMax != max0 {
		// RFC 8985 §7.2: restart the probe timer after sending new data.
		c.setPTO(c.l.now(), c.rtoAt)
	}
}

// ccRoom is how many more bytes the congestion window allows, plus up to
// two segments on the first two duplicate ACKs (RFC 3042 Limited
// Transmit).
func (c *Conn) ccRoom() int {
	flight := c.sndNxt - c.sndUna
	cwnd := c.cc.cwnd
	if c.f&fRecovery == 0 && c.dupAcks > 0 && c.sndNxt == c.sndMax {
		cwnd += uint32(min(c.dupAcks, 2)) * uint32(c.smss())
	}
	if cwnd <= flight {
		return 0
	}
	return int(cwnd - flight)
}

// sendData sends one segment of new (or, after an RTO, resent) data or a
// FIN, within room bytes of congestion window. It reports whether it sent.
// force overrides sender SWS avoidance (the §3.8.6.2.1 override timeout)
// and Nagle (a loss probe).
// Sender SWS avoidance and Nagle: RFC 9293 §3.8.6.2.1, RFC 896.
func (c *Conn) sendData(room int, force bool) bool {
	if seqLT(c.sndNxt, c.sndMax) {
		// Going back after an RTO: skip what the peer SACKed.
		for {
			end, ok := c.sacked(c.sndNxt)
			if !ok {
				break
			}
			c.sndNxt = seqMin(end, c.sndMax)
			if c.sndNxt == c.sndMax {
				break
			}
		}
	}
	dataEnd := c.sndBase + uint32(c.txLen())
	avail := 0
	if seqLT(c.sndNxt, dataEnd) {
		avail = int(dataEnd - c.sndNxt)
	}
	fin := c.finPending()
	if avail == 0 && !fin || c.turnOver() {
		return false
	}
	wnd := 0
	if seqGT(c.sndUna+c.sndWnd, c.sndNxt) {
		wnd = int(c.sndUna + c.sndWnd - c.sndNxt)
	}
	smss := c.smss()
	limit := smss
	if tso := c.tsoLimit(); tso > 0 {
		limit = tso
	}
	n := min(avail, limit, wnd, room)
	if n > smss && n%smss != 0 &&
		(n < avail || c.f&fNoDelay == 0 && !force && seqGT(c.sndSml, c.sndUna)) {
		// A TSO segment is whole segments, but for the last of what is
		// queued, which Nagle may hold like any short segment; the rest
		// follows under the usual rules.
		n -= n % smss
	}
	retrans := seqLT(c.sndNxt, c.sndMax)
	if n < avail || avail == 0 {
		// Cannot send everything queued.
		if avail == 0 {
			// FIN alone: needs room in the congestion window only.
			if room <= 0 && !retrans {
				return false
			}
		} else if n < smss {
			if n <= 0 {
				return false
			}
			// Window-limited small segment: only if it is at least half
			// the largest window the peer offered and nothing is in flight.
			if !(c.sndNxt == c.sndUna && uint32(n) >= c.maxSndWnd/2) && !retrans && !force {
				return false
			}
		}
	} else if n < smss && !retrans && !fin {
		// Everything queued fits in a short segment: Nagle (RFC 896) with
		// Minshall's refinement, as in Linux: hold it only while an
		// earlier short segment is unacknowledged, so the tail of a bulk
		// write is not held hostage to a delayed ACK.
		if c.f&fNoDelay == 0 && !force && seqGT(c.sndSml, c.sndUna) {
			return false
		}
	}
	flags := uint8(FlagACK)
	end := c.sndNxt + uint32(n)
	if n > 0 && end == dataEnd {
		flags |= FlagPSH
	}
	sendFin := fin && end == dataEnd
	if sendFin {
		flags |= FlagFIN
	}
	if !c.sendSegment(flags, c.sndNxt, n) {
		return false
	}
	c.sent(n)
	if retrans {
		c.cnt().Retransmits++
		if c.f&fTiming != 0 && seqLEQ(c.sndNxt, c.rttSeq) {
			c.f &^= fTiming // Karn
		}
	} else if c.f&(fTiming|fTS) == 0 && n > 0 {
		c.f |= fTiming
		c.rttSeq, c.rttAt = c.sndNxt, c.l.now()
	}
	if n%smss != 0 || n < smss {
		c.sndSml = end // it ends in a short segment
	}
	c.sndNxt = end
	if sendFin {
		c.finSeq = end
		c.f |= fFinSent
		c.sndNxt++
	}
	if seqGT(c.sndNxt, c.sndMax) {
		c.sndMax = c.sndNxt
	}
	return true
}

// sackRecoverySend is RFC 6675 §5 step (C): while cwnd - pipe >= 1 SMSS,
// send NextSeg (lost data first, then new data).
func (c *Conn) sackRecoverySend() {
	smss := c.smss()
	for i := 0; i < 64; i++ {
		room := int(c.cc.cwnd) - c.pipe()
		if room < smss {
			return
		}
		if seq, n, ok := c.nextLost(); ok {
			// A hole may reach our FIN's sequence number; the FIN itself
			// is resent by the RTO path.
			dataEnd := c.sndBase + uint32(c.txLen())
			if seqGT(seq+uint32(n), dataEnd) {
				if !seqLT(seq, dataEnd) {
					c.highRxt = seq + uint32(n)
					continue
				}
				n = int(dataEnd - seq)
			}
			if c.turnOver() || !c.sendSegment(FlagACK, seq, n) {
				return
			}
			c.sent(n)
			c.cnt().Retransmits++
			if c.f&fTiming != 0 && seqLEQ(seq, c.rttSeq) {
				c.f &^= fTiming
			}
			c.highRxt = seq + uint32(n)
			continue
		}
		if !c.sendData(room, false) {
			return
		}
	}
}

// retransmitFirst resends one segment at SND.UNA (fast retransmit,
// NewReno partial ACK). One the device refuses goes first in the
// connection's next turn (txsRtxFirst).
func (c *Conn) retransmitFirst() {
	dataEnd := c.sndBase + uint32(c.txLen())
	n := 0
	if seqLT(c.sndUna, dataEnd) {
		n = min(int(dataEnd-c.sndUna), c.smss())
	}
	flags := uint8(FlagACK)
	if c.f&fFinSent != 0 && c.sndUna+uint32(n) == c.finSeq {
		flags |= FlagFIN
	}
	if n == 0 && flags&FlagFIN == 0 {
		return
	}
	if c.turnOver() || !c.sendSegment(flags, c.sndUna, n) {
		c.txs |= txsRtxFirst
		return
	}
	c.sent(n)
	c.cnt().Retransmits++
	if c.f&fTiming != 0 && seqLEQ(c.sndUna, c.rttSeq) {
		c.f &^= fTiming
	}
	c.highRxt = c.sndUna + uint32(n)
}
