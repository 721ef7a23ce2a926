package tcp

import (
	"math"
	"testing"
	"time"
)

func ccConn(t *testing.T, alg CongestionControl) (*peer, *Conn) {
	p := newPeer(t, Config{CongestionControl: alg})
	c, _ := p.open([]byte{2, 4, 0x05, 0xb4}) // MSS 1460, no timestamps
	return p, c
}

func TestNewRenoLoss(t *testing.T) {
	_, c := ccConn(t, NewReno)
	m := uint32(c.smss())
	c.cc.cwnd = 100 * m
	c.sndMax = c.sndUna + 100*m
	c.ccOnLoss()
	if c.cc.ssthresh != 50*m {
		t.Fatalf("ssthresh %d segments, want 50", c.cc.ssthresh/m)
	}
	// Congestion avoidance: one SMSS per window of ACKs.
	c.cc.cwnd = c.cc.ssthresh
	for i := 0; i < 50; i++ {
		c.ccOnAck(m)
	}
	if c.cc.cwnd != 51*m {
		t.Fatalf("cwnd %d after one window, want 51 segments", c.cc.cwnd/m)
	}
}

func TestCubicRecoversToWMax(t *testing.T) {
	p, c := ccConn(t, CUBIC)
	m := uint32(c.smss())
	c.cc.cwnd = 100 * m
	c.ccOnLoss()
	if want := uint32(70 * m); c.cc.ssthresh < want-m || c.cc.ssthresh > want+m {
		t.Fatalf("ssthresh %d, want 0.7*cwnd", c.cc.ssthresh/m)
	}
	c.cc.cwnd = c.cc.ssthresh
	c.srtt = 100 * time.Millisecond                // long enough that the Reno-friendly W_est stays below W_cubic (§4.3)
	k := math.Cbrt(100 * (1 - cubicBeta) / cubicC) // RFC 9438 eq. 2
	// One window of ACKs every RTT until K: cwnd returns to W_max.
	var at time.Duration
	for at = 0; at < time.Duration(k*float64(time.Second)); at += c.srtt {
		p.advance(c.srtt)
		segs := c.cc.cwnd / m
		for i := uint32(0); i < segs; i++ {
			c.ccOnAck(m)
		}
	}
	got := float64(c.cc.cwnd) / float64(m)
	if got < 90 || got > 110 {
		t.Fatalf("cwnd %.1f segments at t=K=%.2fs, want ~100 (W_max)", got, k)
	}
	// Plateau then convex growth beyond W_max.
	for i := 0; i < 30; i++ {
		p.advance(c.srtt)
		segs := c.cc.cwnd / m
		for j := uint32(0); j < segs; j++ {
			c.ccOnAck(m)
		}
	}
	// W_cubic(K+3s) = W_max + C*3^3 ≈ 110.8 segments.
	if w := c.cc.cwnd / m; w < 105 || w > 120 {
		t.Fatalf("cwnd %d segments 3s after K, want ~111", w)
	}
}
