package tcp

import (
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/stack/transport"
)

// Config.InvalidAckInterval: ACKs to segments that fail the acceptability
// test or PAWS are rate-limited per connection (RFC 5961 §10, Linux's
// tcp_invalid_ratelimit).

// burst sends n copies of s and returns how many segments the layer sent.
func (p *peer) burst(n int, s seg) int {
	p.drain()
	for i := 0; i < n; i++ {
		p.send(s)
	}
	k := len(p.out)
	p.drain()
	return k
}

func TestInvalidAckDefault(t *testing.T) {
	p := newPeer(t, Config{})
	if iv := p.e.l.Config().InvalidAckInterval; iv != 500*time.Millisecond {
		t.Fatalf("default InvalidAckInterval %v, want 500ms", iv)
	}
}

func TestInvalidAckOutOfWindow(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	p.drain()
	junk := seg{sport: 5000, dport: 80, seq: peerISN + 1 + 1<<20, ack: iss + 1, flags: FlagACK, wnd: 1000}
	if n := p.burst(100, junk); n != 1 {
		t.Fatalf("100 out-of-window ACKs answered by %d ACKs, want 1", n)
	}
	st := p.e.l.lockedStats()
	if st.OutOfWindowAcksLimited != 99 || st.Drops[DropOutOfWindow] != 100 {
		t.Fatalf("limited %d, out-of-window drops %d; want 99, 100", st.OutOfWindowAcksLimited, st.Drops[DropOutOfWindow])
	}
	// Still within the interval: nothing.
	p.advance(499 * time.Millisecond)
	if n := p.burst(1, junk); n != 0 {
		t.Fatalf("answered %d after 499ms", n)
	}
	// One interval after the last answer: one more.
	p.advance(time.Millisecond)
	p.send(junk)
	p.expect(FlagACK, u32(iss+1), u32(peerISN+1))
	p.none()
	if n := p.burst(10, junk); n != 0 {
		t.Fatalf("answered %d right after", n)
	}
	if got := p.e.l.lockedStats().OutOfWindowAcksLimited; got != 110 {
		t.Fatalf("limited %d, want 110", got)
	}
	// Junk far below RCV.NXT, with or without data, is limited too.
	p.advance(time.Second)
	base := uint32(peerISN + 1)
	old := seg{sport: 5000, dport: 80, seq: base - 1<<20, ack: iss + 1, flags: FlagACK, wnd: 1000, data: []byte("junk")}
	if n := p.burst(50, old); n != 1 {
		t.Fatalf("50 junk data segments far below RCV.NXT: %d ACKs, want 1", n)
	}
	// Data beyond the window too.
	p.advance(time.Second)
	far := seg{sport: 5000, dport: 80, seq: peerISN + 1 + 1<<20, ack: iss + 1, flags: FlagACK, wnd: 1000, data: []byte("far")}
	if n := p.burst(50, far); n != 1 {
		t.Fatalf("50 data segments beyond the window: %d ACKs, want 1", n)
	}
	if s := p.state(c); s != Established {
		t.Fatalf("state %s", s)
	}
	// The connection still works.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK | FlagPSH, wnd: 1000, data: []byte("ok")})
	p.expect(FlagACK, nil, u32(peerISN+3))
}

// Old duplicates carrying data (a retransmission whose ACK was lost) are
// always answered: their ACK is what repairs the loss.
func TestInvalidAckOldDuplicatesExempt(t *testing.T) {
	p := newPeer(t, Config{})
	_, iss := p.open(nil)
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 1000, data: []byte("0123456789")})
	p.expect(FlagACK, nil, u32(peerISN+11))
	// Use up the budget with junk first.
	p.burst(1, seg{sport: 5000, dport: 80, seq: peerISN + 1 + 1<<20, ack: iss + 1, flags: FlagACK, wnd: 1000})
	for i := 0; i < 20; i++ {
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1 + uint32(i%5), ack: iss + 1, flags: FlagACK, wnd: 1000, data: []byte("01234")[i%5:]})
		p.expect(FlagACK, u32(iss+1), u32(peerISN+11))
	}
	if got := p.e.l.lockedStats().OutOfWindowAcksLimited; got != 0 {
		t.Fatalf("limited %d", got)
	}
}

func TestInvalidAckPAWS(t *testing.T) {
	p := newPeer(t, Config{})
	syn := append([]byte{2, 4, 5, 180}, tsBytes(1000, 0)...)
	c, iss := p.open(syn)
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 1000, opts: tsBytes(2000, 0), data: []byte("new")})
	p.drain()
	// Pure ACKs with an old timestamp, at RCV.NXT.
	stale := seg{sport: 5000, dport: 80, seq: peerISN + 4, ack: iss + 1, flags: FlagACK, wnd: 1000, opts: tsBytes(1500, 0)}
	if n := p.burst(100, stale); n != 1 {
		t.Fatalf("100 PAWS-failed ACKs answered by %d ACKs, want 1", n)
	}
	st := p.e.l.lockedStats()
	if st.OutOfWindowAcksLimited != 99 || st.Drops[DropPAWS] != 100 {
		t.Fatalf("limited %d, PAWS drops %d; want 99, 100", st.OutOfWindowAcksLimited, st.Drops[DropPAWS])
	}
	// Data with an old timestamp that is not an old duplicate: limited.
	staleData := stale
	staleData.data = []byte("old")
	if n := p.burst(10, staleData); n != 0 {
		t.Fatalf("PAWS-failed data answered %d times within the interval", n)
	}
	if n := c.rxLenLocked(p); n != 3 {
		t.Fatalf("rx %d bytes, want 3", n)
	}
	p.advance(500 * time.Millisecond)
	p.send(stale)
	p.expect(FlagACK, u32(iss+1), u32(peerISN+4))
	if got := p.e.l.lockedStats().OutOfWindowAcksLimited; got != 109 {
		t.Fatalf("limited %d, want 109", got)
	}
}

// A retransmitted FIN in TIME_WAIT is always ACKed (and restarts 2MSL),
// however often it comes; other junk in TIME_WAIT is limited.
func TestInvalidAckTimeWaitFIN(t *testing.T) {
	p := newPeer(t, Config{TimeWait: 30 * time.Second})
	c, iss := p.open(nil)
	c.Close()
	p.expect(FlagACK|FlagFIN, u32(iss+1), nil)
	fin := seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 2, flags: FlagACK | FlagFIN, wnd: 1000}
	p.send(fin)
	p.expect(FlagACK, u32(iss+2), u32(peerISN+2))
	if s := p.state(c); s != TimeWait {
		t.Fatalf("state %s", s)
	}
	junk := seg{sport: 5000, dport: 80, seq: peerISN + 2 + 1<<20, ack: iss + 2, flags: FlagACK, wnd: 1000}
	if n := p.burst(20, junk); n != 1 {
		t.Fatalf("20 junk ACKs in TIME_WAIT: %d answers, want 1", n)
	}
	for i := 0; i < 5; i++ {
		p.advance(100 * time.Millisecond) // faster than any RTO
		p.send(fin)
		p.expect(FlagACK, u32(iss+2), u32(peerISN+2))
	}
	p.advance(29 * time.Second)
	if s := p.state(c); s != TimeWait {
		t.Fatalf("state %s, want TIME_WAIT (restarted by the last FIN)", s)
	}
}

// Keepalive probes (SEG.SEQ = RCV.NXT-1, zero or one byte) are answered
// each time, even while junk keeps using up the connection's budget.
func TestInvalidAckKeepaliveProbes(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	p.drain()
	probe := seg{sport: 5000, dport: 80, seq: peerISN, ack: iss + 1, flags: FlagACK, wnd: 1000}
	probe1 := probe
	probe1.data = []byte{0}
	junk := seg{sport: 5000, dport: 80, seq: peerISN + 1 + 1<<20, ack: iss + 1, flags: FlagACK, wnd: 1000}
	for i := 0; i < 10; i++ {
		// Junk every 100ms, the budget taken by the first of each interval.
		for j := 0; j < 10; j++ {
			p.send(junk)
			p.advance(100 * time.Millisecond)
		}
		p.drain()
		p.send(junk)
		p.drain()
		pr := probe
		if i%2 == 1 {
			pr = probe1
		}
		p.send(pr)
		p.expect(FlagACK, u32(iss+1), u32(peerISN+1))
	}
	if s := p.state(c); s != Established {
		t.Fatalf("state %s", s)
	}
	if p.e.l.lockedStats().OutOfWindowAcksLimited == 0 {
		t.Fatal("junk was not limited")
	}
	// Probes one second apart without junk, and the keepalive timer on
	// the other side: see TestKeepaliveBetweenLayers.
	for i := 0; i < 5; i++ {
		p.advance(time.Second)
		p.send(probe)
		p.expect(FlagACK, u32(iss+1), u32(peerISN+1))
	}
}

// Our keepalive against our own stack, with the limit on: every probe is
// answered and the connection outlives many KeepCount periods.
func TestKeepaliveBetweenLayers(t *testing.T) {
	cfg := Config{KeepAlive: true, KeepIdle: 2 * time.Second, KeepInterval: time.Second, KeepCount: 2}
	n := newTestNet(t, 7, faults{delay: time.Millisecond}, cfg, cfg)
	a, b := n.connect(8080)
	out0 := n.ends[1].l.lockedStats().SegmentsOut
	n.run(10*time.Minute, func() bool { return false })
	if a.State() != Established || b.State() != Established {
		t.Fatalf("states %s %s after 10 idle minutes with keepalive", a.State(), b.State())
	}
	if d := n.ends[1].l.lockedStats().SegmentsOut - out0; d < 250 {
		t.Fatalf("only %d segments in 10 minutes: keepalive not running", d)
	}
}

func TestInvalidAckLimitDisabled(t *testing.T) {
	p := newPeer(t, Config{InvalidAckInterval: -1})
	_, iss := p.open(nil)
	p.drain()
	junk := seg{sport: 5000, dport: 80, seq: peerISN + 1 + 1<<20, ack: iss + 1, flags: FlagACK, wnd: 1000}
	if n := p.burst(100, junk); n != 100 {
		t.Fatalf("limit disabled: %d ACKs for 100 segments", n)
	}
	if got := p.e.l.lockedStats().OutOfWindowAcksLimited; got != 0 {
		t.Fatalf("limited %d", got)
	}
}

// A SYN whatever its sequence number gets a challenge ACK (RFC 5961 §4),
// under ChallengeAckLimit rather than InvalidAckInterval.
func TestInvalidAckSYNChallenge(t *testing.T) {
	p := newPeer(t, Config{})
	_, iss := p.open(nil)
	p.drain()
	for _, off := range []uint32{1 << 20, 1 << 30, 0xffff0000} {
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1 + off, flags: FlagSYN, wnd: 1000})
		p.expect(FlagACK, u32(iss+1), u32(peerISN+1))
	}
	st := p.e.l.lockedStats()
	if st.ChallengeAcks != 3 || st.OutOfWindowAcksLimited != 0 {
		t.Fatalf("challenge ACKs %d, limited %d", st.ChallengeAcks, st.OutOfWindowAcksLimited)
	}
}

// The zero-window special allowance (§3.10.7.4) is not limited: each
// zero-window probe gets its ACK.
func TestInvalidAckZeroWindowProbes(t *testing.T) {
	p := newPeer(t, Config{RecvBuffer: 4096})
	c, iss := p.open(nil)
	rb := uint32(p.e.l.Config().RecvBuffer)
	seq := uint32(peerISN + 1)
	for sent := uint32(0); sent < rb; sent += 1000 {
		k := min(1000, rb-sent)
		p.send(seg{sport: 5000, dport: 80, seq: seq, ack: iss + 1, flags: FlagACK, wnd: 1000, data: make([]byte, k)})
		seq += k
	}
	p.drain()
	p.e.mu.Lock()
	wnd := c.rcvWndNow()
	p.e.mu.Unlock()
	if wnd != 0 {
		t.Fatalf("window %d after filling the buffer", wnd)
	}
	for i := 0; i < 10; i++ {
		p.send(seg{sport: 5000, dport: 80, seq: seq, ack: iss + 1, flags: FlagACK, wnd: 1000, data: []byte{'x'}})
		h := p.expect(FlagACK, u32(iss+1), u32(seq))
		if h.Window() != 0 {
			t.Fatalf("window %d", h.Window())
		}
	}
}

func TestInvalidAckNoAllocs(t *testing.T) {
	require.NoRace(t, "allocation counts differ")
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	p.drain()
	p.e.l.ip = &discardIP{}
	var in [128]byte
	junk := segBuf(in[:], seg{sport: 5000, dport: 80, seq: peerISN + 1 + 1<<20, ack: iss + 1, flags: FlagACK, wnd: 1000})
	deliver := func() {
		p.e.mu.Lock()
		p.e.l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: junk})
		p.e.mu.Unlock()
	}
	deliver()
	if a := testing.AllocsPerRun(1000, deliver); a != 0 {
		t.Errorf("suppressed out-of-window ACK allocates %v", a)
	}
	answered := func() {
		p.advance(time.Second)
		deliver()
	}
	if a := testing.AllocsPerRun(100, answered); a != 0 {
		t.Errorf("answered out-of-window ACK allocates %v", a)
	}
	if s := p.state(c); s != Established {
		t.Fatalf("state %s", s)
	}
}
