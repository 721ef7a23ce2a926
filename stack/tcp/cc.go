package tcp

import (
	"math"
	"time"
)

// ccState is the congestion controller: RFC 5681 slow start and
// congestion avoidance with NewReno, or CUBIC (RFC 9438). Windows are in
// bytes.
type ccState struct {
	cwnd, ssthresh uint32
	acked          uint32 // bytes acked towards the next cwnd increase
	// CUBIC (RFC 9438 §4), in segments and seconds.
	wMax, k, origin, wEst float64
	epoch                 time.Duration // start of the current CA epoch, 0 none
}

// CUBIC constants (RFC 9438 §4.1, §4.6).
const (
	cubicC    = 0.4
	cubicBeta = 0.7
)

func (c *Conn) cubic() bool { return c.l.cfg.CongestionControl == CUBIC }

// init sets the initial window (RFC 6928: min(10*MSS, max(2*MSS, 14600))).
func (cc *ccState) init(c *Conn) {
	m := uint32(c.smss())
	cc.cwnd = min(10*m, max(2*m, 14600))
	cc.ssthresh = math.MaxUint32 >> 1
	cc.epoch = 0
	cc.wMax = 0
}

// onAck grows the window for acked new bytes (RFC 5681 §3.1, RFC 3465
// L=2; CUBIC §4.2-4.4).
func (c *Conn) ccOnAck(acked uint32) {
	cc := &c.cc
	m := uint32(c.smss())
	if cc.cwnd < cc.ssthresh {
		cc.cwnd += min(acked, 2*m)
		return
	}
	if !c.cubic() {
		cc.acked += acked
		if cc.acked >= cc.cwnd {
			cc.acked -= cc.cwnd
			cc.cwnd += m
		}
		return
	}
	now := c.l.now()
	seg := float64(cc.cwnd) / float64(m)
	if cc.epoch == 0 {
		cc.epoch = now
		if seg < cc.wMax {
			cc.k = math.Cbrt((cc.wMax - seg) / cubicC)
			cc.origin = cc.wMax
		} else {
			cc.k = 0
			cc.origin = seg
		}
		cc.wEst = seg
	}
	rtt := c.srtt
	if rtt == 0 {
		rtt = 100 * time.Millisecond
	}
	t := (now - cc.epoch + rtt).Seconds()
	d := t - cc.k
	target := cc.origin + cubicC*d*d*d
	target = math.Max(seg, math.Min(target, 1.5*seg))
	// Reno-friendly estimate (§4.3), alpha = 3(1-beta)/(1+beta).
	cc.wEst += 3 * (1 - cubicBeta) / (1 + cubicBeta) * float64(acked) / float64(m) / seg
	if cc.wEst > target {
		target = cc.wEst
	}
	inc := (target - seg) / seg * float64(acked)
	cc.acked += uint32(inc)
	if cc.acked >= m/4 || inc >= 1 {
		cc.cwnd += cc.acked
		cc.acked = 0
	}
}

// ccOnLoss reacts to loss detected by duplicate ACKs/SACK and returns the
// new ssthresh (RFC 5681 eq. 4; RFC 9438 §4.6 with fast convergence §4.7).
func (c *Conn) ccOnLoss() {
	cc := &c.cc
	m := uint32(c.smss())
	flight := c.sndMax - c.sndUna
	if c.cubic() {
		seg := float64(cc.cwnd) / float64(m)
		if seg < cc.wMax {
			cc.wMax = seg * (1 + cubicBeta) / 2
		} else {
			cc.wMax = seg
		}
		cc.ssthresh = max(uint32(float64(cc.cwnd)*cubicBeta), 2*m)
	} else {
		cc.ssthresh = max(flight/2, 2*m)
	}
	cc.epoch = 0
	cc.acked = 0
}

// ccOnRTO collapses the window (RFC 5681 §3.1 eq. 4 and 5).
func (c *Conn) ccOnRTO() {
	cc := &c.cc
	m := uint32(c.smss())
	if c.backoff == 0 { // only the first timeout of an episode lowers ssthresh
		flight := c.sndMax - c.sndUna
		if c.cubic() {
			cc.wMax = float64(cc.cwnd) / float64(m)
			cc.ssthresh = max(uint32(float64(cc.cwnd)*cubicBeta), 2*m)
		} else {
			cc.ssthresh = max(flight/2, 2*m)
		}
	}
	cc.cwnd = m
	cc.epoch = 0
	cc.acked = 0
}
