package tcp

import (
	"math"
	"time"
)

// ccState is the congestion controller: RFC 5681 slow start and
// congestion avoidance, with NewReno (this file) or CUBIC (cc_cubic.go)
// for congestion avoidance and the loss response. Windows are in bytes.
type ccState struct {
	cwnd, ssthresh uint32
	acked          uint32 // bytes acked towards the next cwnd increase
	// CUBIC (RFC 9438 §4), in segments and seconds.
	wMax, k, origin, wEst float64
	epoch                 time.Duration // start of the current CA epoch, 0 none
}

func (c *Conn) cubic() bool { return c.l.cfg.CongestionControl == CUBIC }

// init sets the initial window (RFC 6928: min(10*MSS, max(2*MSS, 14600))).
func (cc *ccState) init(c *Conn) {
	m := uint32(c.smss())
	cc.cwnd = min(10*m, max(2*m, 14600))
	cc.ssthresh = math.MaxUint32 >> 1
	cc.epoch = 0
	cc.wMax = 0
}

// ccOnAck grows the window for acked new bytes: slow start with
// appropriate byte counting (RFC 5681 §3.1, RFC 3465 L=2), then NewReno's
// one SMSS per window or CUBIC. With TSO, L is one TSO segment: a peer
// that takes a TSO segment whole acks it with one ACK, and an L of two
// segments would make slow start grow by two segments per 44 sent (Linux
// counts every segment acked).
func (c *Conn) ccOnAck(acked uint32) {
	cc := &c.cc
	m := uint32(c.smss())
	if cc.cwnd < cc.ssthresh {
		cc.cwnd += min(acked, max(2*m, uint32(c.tsoLimit())))
		return
	}
	if c.cubic() {
		c.cubicOnAck(acked)
		return
	}
	cc.acked += acked
	if cc.acked >= cc.cwnd {
		cc.acked -= cc.cwnd
		cc.cwnd += m
	}
}

// ccOnLoss sets ssthresh when loss is detected by duplicate ACKs or SACK
// (RFC 5681 eq. 4; CUBIC: RFC 9438 §4.6). The caller sets cwnd.
func (c *Conn) ccOnLoss() {
	cc := &c.cc
	if c.cubic() {
		c.cubicOnLoss()
	} else {
		cc.ssthresh = max((c.sndMax-c.sndUna)/2, 2*uint32(c.smss()))
	}
	cc.epoch = 0
	cc.acked = 0
}

// ccOnRTO collapses the window to one segment (RFC 5681 §3.1 eq. 4, 5);
// only the first timeout of an episode lowers ssthresh.
func (c *Conn) ccOnRTO() {
	cc := &c.cc
	m := uint32(c.smss())
	if c.backoff == 0 {
		if c.cubic() {
			c.cubicOnLoss()
		} else {
			cc.ssthresh = max((c.sndMax-c.sndUna)/2, 2*m)
		}
	}
	cc.cwnd = m
	cc.epoch = 0
	cc.acked = 0
}
