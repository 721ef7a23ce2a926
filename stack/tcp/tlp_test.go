package tcp

import (
	"testing"
	"time"
)

// Tail loss probe tests (RFC 8985 §7), in virtual time.

// dropFirst makes n drop, once each, the first transmission from side
// from of the data segments starting at the given sequence numbers.
func (n *testNet) dropFirst(from int, seqs ...uint32) {
	left := map[uint32]bool{}
	for _, s := range seqs {
		left[s] = true
	}
	n.drop = func(f int, data []byte) bool {
		h, err := ParseHeader(data)
		if err != nil || f != from || len(h.Payload()) == 0 || !left[h.Seq()] {
			return false
		}
		delete(left, h.Seq())
		return true
	}
}

// request writes p on c (side from) and runs until the other side's conn
// d has read it all; it returns the virtual time that took.
func (n *testNet) request(t *testing.T, from int, c, d *Conn, p []byte) time.Duration {
	t.Helper()
	start := n.clk.Now()
	n.lockedDo(from, func(*Layer) {
		if k := c.tryWrite(p); k != len(p) {
			t.Fatalf("tryWrite %d/%d", k, len(p))
		}
	})
	buf := make([]byte, 64<<10)
	got := 0
	ok := n.run(time.Minute, func() bool {
		n.lockedDo(1-from, func(*Layer) {
			m, _ := d.tryRead(buf)
			got += m
		})
		return got == len(p)
	})
	if !ok {
		t.Fatalf("request of %d bytes: %d delivered", len(p), got)
	}
	return n.clk.Now().Sub(start)
}

// settleAcks runs until c (side i) has everything acknowledged.
func (n *testNet) settleAcks(t *testing.T, i int, c *Conn) {
	t.Helper()
	if !n.run(time.Minute, func() bool {
		var done bool
		n.lockedDo(i, func(*Layer) { done = c.sndUna == c.sndMax })
		return done
	}) {
		t.Fatalf("data not acknowledged: %s", c.debugString())
	}
}

// A request whose last segment is lost is repaired by the probe about
// three SRTTs plus the delayed-ACK allowance after it was sent (the ACK
// of the first two segments restarts the PTO with one segment in
// flight), well before the RTO; the repair is detected when the next
// request is acknowledged beyond the probe, and cwnd is reduced once.
// Without TLP the RTO repairs it.
func TestTLPTailLoss(t *testing.T) {
	const delay = 20 * time.Millisecond // SRTT 40ms
	for _, tlp := range []bool{true, false} {
		name := "tlp"
		if !tlp {
			name = "notlp"
		}
		t.Run(name, func(t *testing.T) {
			// The RFC 6298 minimum RTO (1s): with Linux's 200ms the
			// one-segment PTO (2*SRTT + 200ms) would be cut to the RTO.
			cfg := Config{MinRTO: time.Second, DisableTLP: !tlp}
			n := newTestNet(t, 7, faults{delay: delay}, cfg, cfg)
			a, b := n.connect(80)
			// Warm up: a few exchanges for timestamps' RTT samples.
			for i := 0; i < 3; i++ {
				n.request(t, 0, a, b, make([]byte, 100))
				n.request(t, 1, b, a, make([]byte, 100))
			}
			n.settleAcks(t, 0, a)
			var seg, una, cwnd0 uint32
			var srtt, rto time.Duration
			n.lockedDo(0, func(*Layer) {
				seg, una, cwnd0, srtt, rto = uint32(a.smss()), a.sndUna, a.cc.cwnd, a.srtt, a.rto
			})
			if srtt < 35*time.Millisecond || srtt > 45*time.Millisecond || rto != time.Second {
				t.Fatalf("srtt %v rto %v", srtt, rto)
			}
			req := make([]byte, 3*seg)
			n.dropFirst(0, una+2*seg)
			d := n.request(t, 0, a, b, req)
			st := n.ends[0].l.lockedStats()
			t.Logf("tail loss repaired after %v (srtt %v, rto %v): probes %d, RTOs %d", d, srtt, rto, st.TailLossProbes, st.RTOEvents)
			if !tlp {
				// The RTO runs from the ACK of the first two segments.
				if d < srtt+rto || st.RTOEvents != 1 || st.TailLossProbes != 0 {
					t.Fatalf("without TLP: repaired after %v, %d RTOs, %d probes", d, st.RTOEvents, st.TailLossProbes)
				}
				return
			}
			// ACK of segments 1-2 after an RTT, the probe a PTO (2*SRTT +
			// 200ms) later, delivered half an RTT after that.
			want := srtt + 2*srtt + 200*time.Millisecond + delay
			if d < want-5*time.Millisecond || d > want+5*time.Millisecond || d > rto/2 {
				t.Fatalf("repaired after %v, want about %v (RTO %v)", d, want, rto)
			}
			if st.TailLossProbes != 1 || st.RTOEvents != 0 || st.FastRetransmits != 0 || st.Retransmits != 1 {
				t.Fatalf("stats: %+v", st)
			}
			n.settleAcks(t, 0, a)
			var cwnd1 uint32
			n.lockedDo(0, func(*Layer) { cwnd1 = a.cc.cwnd })
			if cwnd1 < cwnd0 {
				t.Fatalf("cwnd %d -> %d before the repair was known", cwnd0, cwnd1)
			}
			// The response, then the next request: its ACK goes past the
			// probe with no sign that the probe was superfluous.
			n.request(t, 1, b, a, make([]byte, 100))
			n.request(t, 0, a, b, make([]byte, 100))
			n.settleAcks(t, 0, a)
			st = n.ends[0].l.lockedStats()
			var cwnd2, ssth uint32
			n.lockedDo(0, func(*Layer) { cwnd2, ssth = a.cc.cwnd, a.cc.ssthresh })
			t.Logf("cwnd %d -> %d (ssthresh %d)", cwnd1, cwnd2, ssth)
			if st.TailLossProbeRepairs != 1 || st.TailLossProbes != 1 || st.FastRetransmits != 0 || st.RTOEvents != 0 {
				t.Fatalf("stats after the next request: %+v", st)
			}
			if cwnd2 >= cwnd1 || ssth > cwnd1 || cwnd2 > ssth+seg {
				t.Fatalf("cwnd %d -> %d, ssthresh %d: want one reduction", cwnd1, cwnd2, ssth)
			}
			// Once only: more traffic does not reduce it again.
			for i := 0; i < 3; i++ {
				n.request(t, 0, a, b, make([]byte, 100))
				n.request(t, 1, b, a, make([]byte, 100))
			}
			n.settleAcks(t, 0, a)
			var cwnd3 uint32
			n.lockedDo(0, func(*Layer) { cwnd3 = a.cc.cwnd })
			if st := n.ends[0].l.lockedStats(); cwnd3 < cwnd2 || st.TailLossProbeRepairs != 1 || st.TailLossProbes != 1 {
				t.Fatalf("later: cwnd %d -> %d, stats %+v", cwnd2, cwnd3, st)
			}
		})
	}
}

// When a whole tail flight is lost, the probe resends its last segment;
// its SACK shows everything below it lost, and RFC 6675 recovery resends
// the rest, all before the RTO (default 200ms minimum).
func TestTLPWholeFlightLoss(t *testing.T) {
	const delay = 20 * time.Millisecond
	for _, tlp := range []bool{true, false} {
		cfg := Config{DisableTLP: !tlp}
		n := newTestNet(t, 8, faults{delay: delay}, cfg, cfg)
		a, b := n.connect(80)
		for i := 0; i < 3; i++ {
			n.request(t, 0, a, b, make([]byte, 100))
			n.request(t, 1, b, a, make([]byte, 100))
		}
		n.settleAcks(t, 0, a)
		var seg, una uint32
		var srtt, rto time.Duration
		n.lockedDo(0, func(*Layer) { seg, una, srtt, rto = uint32(a.smss()), a.sndUna, a.srtt, a.rto })
		var probe []uint32 // sequence numbers of A's data segments after the first three
		sent := 0
		n.tap = func(from int, data []byte) {
			h, _ := ParseHeader(data)
			if from == 0 && len(h.Payload()) > 0 {
				if sent++; sent > 3 {
					probe = append(probe, h.Seq())
				}
			}
		}
		n.dropFirst(0, una, una+seg, una+2*seg)
		d := n.request(t, 0, a, b, make([]byte, 3*seg))
		st := n.ends[0].l.lockedStats()
		t.Logf("tlp=%v: flight lost whole, repaired after %v (srtt %v, rto %v); resent %v; %+v", tlp, d, srtt, rto, probe, st)
		if !tlp {
			if d < rto || st.RTOEvents == 0 {
				t.Fatalf("without TLP: repaired after %v, %d RTOs", d, st.RTOEvents)
			}
			continue
		}
		// Probe at 2*SRTT, its SACK an RTT later, the holes half an RTT
		// after that.
		want := 2*srtt + srtt + delay
		if d > want+5*time.Millisecond || d >= rto {
			t.Fatalf("repaired after %v, want about %v, before the RTO (%v)", d, want, rto)
		}
		if st.TailLossProbes != 1 || st.RTOEvents != 0 || st.FastRetransmits != 1 || st.TailLossProbeRepairs != 0 {
			t.Fatalf("stats: %+v", st)
		}
		if len(probe) != 3 || probe[0] != una+2*seg || probe[1] != una || probe[2] != una+seg {
			t.Fatalf("resent %v, want the last segment (%d) then the others", probe, una+2*seg)
		}
	}
}

// A bulk transfer without loss sends (almost) no probes: ACKs keep
// moving the probe timer on.
func TestTLPNoSpuriousProbes(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Millisecond, 10 * time.Millisecond} {
		n := newTestNet(t, 9, faults{delay: delay}, Config{}, Config{})
		a, b := n.connect(80)
		transfer(t, n, a, b, 8<<20, time.Second, time.Hour)
		for i := 0; i < 2; i++ {
			st := n.ends[i].l.lockedStats()
			t.Logf("delay %v side %d: %d segments out, %d probes, %d retransmits", delay, i, st.SegmentsOut, st.TailLossProbes, st.Retransmits)
			if st.TailLossProbes > 2 || st.Retransmits > 2 {
				t.Fatalf("delay %v side %d: %d probes, %d retransmits without loss", delay, i, st.TailLossProbes, st.Retransmits)
			}
		}
	}
}

// openSACK opens a connection with the scripted peer offering SACK and
// returns it with our ISS.
func (p *peer) openSACK() (*Conn, uint32) {
	c, iss := p.open(sackSyn)
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	if c.f&fSACK == 0 {
		p.t.Fatal("SACK not negotiated")
	}
	return c, iss
}

// With one segment in flight the probe timeout includes the peer's
// delayed-ACK allowance (TLP.max_ack_delay); with more it is 2*SRTT. The
// probe resends the last segment and leaves cwnd alone; the RTO follows
// it.
func TestTLPProbeTimeout(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int
		allow time.Duration // Config.TLPMaxAckDelay, 0 for the default
		extra time.Duration // what the PTO adds to 2*SRTT
	}{
		{"one-segment", 100, 0, 200 * time.Millisecond},
		{"one-segment-config", 1460, 300 * time.Millisecond, 300 * time.Millisecond},
		{"three-segments", 3000, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPeer(t, Config{MinRTO: time.Second, TLPMaxAckDelay: tc.allow})
			c, iss := p.openSACK()
			p.e.mu.Lock()
			c.srtt, c.rttvar = 20*time.Millisecond, 0 // RTO stays MinRTO
			cwnd := c.cc.cwnd
			p.e.mu.Unlock()
			p.write(c, make([]byte, tc.size))
			for sent := 0; sent < tc.size; {
				sent += len(p.next().Payload())
			}
			h, d := p.waitSegment(time.Hour)
			want := 40*time.Millisecond + tc.extra
			if d < want || d > want+10*time.Millisecond {
				t.Fatalf("probe after %v, want %v", d, want)
			}
			wantLen := min(tc.size, 1460)
			if h.Seq() != iss+1+uint32(tc.size-wantLen) || len(h.Payload()) != wantLen {
				t.Fatalf("probe %s, want the last %d bytes", describe(h), wantLen)
			}
			st := p.e.l.lockedStats()
			p.e.mu.Lock()
			cw, rtx := c.cc.cwnd, c.tmode
			p.e.mu.Unlock()
			if st.TailLossProbes != 1 || st.Retransmits != 1 || st.RTOEvents != 0 || cw != cwnd || rtx != tmRTO {
				t.Fatalf("after the probe: cwnd %d (was %d), timer mode %d, %+v", cw, cwnd, rtx, st)
			}
			// No second probe: the RTO, a full RTO after the probe.
			h, d = p.waitSegment(time.Hour)
			if d < time.Second || d > time.Second+10*time.Millisecond || h.Seq() != iss+1 {
				t.Fatalf("after the probe: %s after %v, want the RTO", describe(h), d)
			}
			if st := p.e.l.lockedStats(); st.TailLossProbes != 1 || st.RTOEvents != 1 {
				t.Fatalf("stats: %+v", st)
			}
		})
	}
}

// With unsent data that the peer's window takes (here held back by the
// congestion window), the probe is a new segment, not a retransmission.
func TestTLPProbeSendsNewData(t *testing.T) {
	p := newPeer(t, Config{MinRTO: time.Second})
	c, iss := p.openSACK()
	p.e.mu.Lock()
	c.srtt, c.rttvar = 20*time.Millisecond, 0
	cwnd := c.cc.cwnd
	p.e.mu.Unlock()
	p.write(c, make([]byte, 30000))
	sent := 0
	for sent+1460 <= int(cwnd) {
		sent += len(p.next().Payload())
	}
	p.none() // cwnd-limited
	h, d := p.waitSegment(time.Hour)
	if d < 40*time.Millisecond || d > 50*time.Millisecond {
		t.Fatalf("probe after %v, want 2*SRTT", d)
	}
	if h.Seq() != iss+1+uint32(sent) || len(h.Payload()) != 1460 {
		t.Fatalf("probe %s, want new data at %d", describe(h), iss+1+uint32(sent))
	}
	st := p.e.l.lockedStats()
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	if st.TailLossProbes != 1 || st.Retransmits != 0 || c.cc.cwnd != cwnd || c.f&(fTLP|fTLPRxt) != fTLP || c.tlpEnd != c.sndMax {
		t.Fatalf("after the probe: %s, %+v", c.debugString(), st)
	}
}

// The ACKs that follow a probe retransmission decide whether it repaired
// a loss (RFC 8985 §7.4.2).
func TestTLPEpisode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		acks     func(p *peer, iss uint32) // after the ACK of the probe
		repaired bool
	}{
		// The original and the probe both arrived: a duplicate ACK.
		{"dupack", func(p *peer, iss uint32) {
			p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 101, flags: FlagACK, wnd: 65535})
		}, false},
		// The same, told by a D-SACK for the probe.
		{"dsack", func(p *peer, iss uint32) {
			p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 101, flags: FlagACK, wnd: 65535,
				opts: sackOpt(span{iss + 1, iss + 101})})
		}, false},
		// Nothing: the next data's ACK goes beyond the probe.
		{"repaired", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPeer(t, Config{MinRTO: time.Second})
			c, iss := p.openSACK()
			p.e.mu.Lock()
			c.srtt, c.rttvar = 20*time.Millisecond, 0
			p.e.mu.Unlock()
			p.write(c, make([]byte, 100))
			p.next()
			h, _ := p.waitSegment(time.Hour)
			if h.Seq() != iss+1 || p.e.l.lockedStats().TailLossProbes != 1 {
				t.Fatalf("probe %s", describe(h))
			}
			// The ACK of the probe (or of the original).
			p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 101, flags: FlagACK, wnd: 65535})
			if tc.acks != nil {
				tc.acks(p, iss)
			}
			p.e.mu.Lock()
			open := c.f&fTLP != 0
			cwnd := c.cc.cwnd
			p.e.mu.Unlock()
			if open != tc.repaired {
				t.Fatalf("episode open %v after the ACKs", open)
			}
			p.write(c, make([]byte, 100))
			p.next()
			p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 201, flags: FlagACK, wnd: 65535})
			st := p.e.l.lockedStats()
			p.e.mu.Lock()
			defer p.e.mu.Unlock()
			if c.f&(fTLP|fTLPRxt) != 0 {
				t.Fatalf("episode still open: %s", c.debugString())
			}
			if tc.repaired != (st.TailLossProbeRepairs == 1) || tc.repaired != (c.cc.cwnd < cwnd) {
				t.Fatalf("repairs %d, cwnd %d -> %d", st.TailLossProbeRepairs, cwnd, c.cc.cwnd)
			}
		})
	}
}

// sackOpt encodes SACK blocks (with two NOPs in front).
func sackOpt(blocks ...span) []byte {
	b := []byte{1, 1, 5, byte(2 + 8*len(blocks))}
	for _, s := range blocks {
		b = append(b, byte(s.start>>24), byte(s.start>>16), byte(s.start>>8), byte(s.start),
			byte(s.end>>24), byte(s.end>>16), byte(s.end>>8), byte(s.end))
	}
	return b
}

// No probes without SACK, or with DisableTLP: the RTO.
func TestTLPOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		syn  []byte
	}{
		{"nosack", Config{MinRTO: time.Second}, []byte{2, 4, 5, 180}},
		{"disabled", Config{MinRTO: time.Second, DisableTLP: true}, sackSyn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPeer(t, tc.cfg)
			c, iss := p.open(tc.syn)
			p.e.mu.Lock()
			c.srtt, c.rttvar = 20*time.Millisecond, 0
			p.e.mu.Unlock()
			p.write(c, make([]byte, 3000))
			p.next()
			p.next()
			p.next()
			h, d := p.waitSegment(time.Hour)
			if d < time.Second || h.Seq() != iss+1 {
				t.Fatalf("%s after %v, want the RTO", describe(h), d)
			}
			if st := p.e.l.lockedStats(); st.TailLossProbes != 0 || st.RTOEvents != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// Request/response over a lossy link: tail losses are common, and TLP
// turns many of their RTOs into probes.
func TestTLPRequestResponseLossy(t *testing.T) {
	type result struct {
		virt             time.Duration
		rtos, probes, fr uint64
	}
	run := func(tlp bool, seed uint64) result {
		cfg := Config{DisableTLP: !tlp}
		n := newTestNet(t, seed, faults{}, cfg, cfg)
		a, b := n.connect(80)
		n.f = faults{loss: 0.05, delay: 10 * time.Millisecond}
		start := n.clk.Now()
		req, resp := make([]byte, 3000), make([]byte, 5000)
		for i := 0; i < 300; i++ {
			n.request(t, 0, a, b, req)
			n.request(t, 1, b, a, resp)
		}
		var r result
		r.virt = n.clk.Now().Sub(start)
		for i := 0; i < 2; i++ {
			st := n.ends[i].l.lockedStats()
			r.rtos += st.RTOEvents
			r.probes += st.TailLossProbes
			r.fr += st.FastRetransmits
		}
		t.Logf("tlp=%v seed %d: 300 rounds in %v virtual; RTOs %d, probes %d, fast recoveries %d", tlp, seed, r.virt, r.rtos, r.probes, r.fr)
		return r
	}
	for seed := uint64(11); seed < 14; seed++ {
		on, off := run(true, seed), run(false, seed)
		if on.probes == 0 || on.rtos*4 > off.rtos*3 || on.virt >= off.virt {
			t.Fatalf("seed %d: TLP: %+v, without: %+v", seed, on, off)
		}
	}
}
