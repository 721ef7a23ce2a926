package tcp

import (
	"math"
	"time"
)

// CUBIC constants (RFC 9438 §4.1, §4.6).
const (
	cubicC    = 0.4
	cubicBeta = 0.7
)

// cubicOnAck is congestion avoidance per RFC 9438 §4.2-4.5: W_cubic(t) =
// C(t-K)^3 + W_max, with the Reno-friendly estimate W_est as a floor and
// the target clamped to [cwnd, 1.5*cwnd].
func (c *Conn) cubicOnAck(acked uint32) {
	cc := &c.cc
	m := uint32(c.smss())
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
	// §4.3: alpha_cubic = 3(1-beta)/(1+beta) segments per RTT.
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

// cubicOnLoss is RFC 9438 §4.6 (ssthresh = beta*cwnd) with fast
// convergence (§4.7).
func (c *Conn) cubicOnLoss() {
	cc := &c.cc
	m := uint32(c.smss())
	seg := float64(cc.cwnd) / float64(m)
	if seg < cc.wMax {
		cc.wMax = seg * (1 + cubicBeta) / 2
	} else {
		cc.wMax = seg
	}
	cc.ssthresh = max(uint32(float64(cc.cwnd)*cubicBeta), 2*m)
}
