package hostile

import (
	"testing"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// Case 10: windows.

// writeAsync writes data from a goroutine and reports the result.
func writeAsync(c *tcp.Conn, data []byte) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		ch <- err
	}()
	return ch
}

// waitSent advances virtual time in small steps until the victim has sent
// something to p (the writer goroutine has queued data), with a bound.
func waitMemory(t *testing.T, v *victim, min int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for v.stats().TCP.Memory < min {
		if time.Now().After(deadline) {
			t.Fatalf("writer did not queue data (TCP memory %d)", v.stats().TCP.Memory)
		}
		v.clk.Advance(time.Millisecond)
	}
}

// TestZeroWindowProbes: the peer holds a zero window while 10 MiB waits.
// Phase 1: for 10 virtual minutes, five times the 2-minute user timeout,
// the peer answers every probe: the connection must stay established
// (RFC 9293 §3.8.6.1, MUST-37: as long as the receiver keeps answering
// the probes, the sender must let the connection stay open), probes back
// off exponentially and memory stays at the send buffer. Phase 2: the
// peer goes silent: the user timeout (RFC 5482) must abort the
// connection, no sooner than the timeout after the last answer and no
// later than the timeout after the first unanswered probe, release the
// memory and fail the blocked Write.
func TestZeroWindowProbes(t *testing.T) {
	const userTimeout = 2 * time.Minute
	v := newVictim(t, stack.Config{TCP: tcp.Config{UserTimeout: userTimeout}})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	p.raw(seg{seq: p.sndNxt, ack: p.rcvNxt, flags: fACK, zeroWin: true})
	sendBuf := v.s.TCP().Config().SendBuffer
	maxRTO := v.s.TCP().Config().MaxRTO
	done := writeAsync(p.conn, make([]byte, 10<<20))
	waitMemory(t, v, sendBuf/2)

	// Phase 1: every probe answered with a zero window for 10 minutes.
	var probeTimes []time.Time
	start := v.clk.Now()
	for v.clk.Now().Sub(start) < 10*time.Minute {
		v.advance(100 * time.Millisecond)
		for _, s := range p.absorb(v.sentTCP()) {
			if s.flags&fRST != 0 {
				t.Fatal("connection reset while the peer answers probes")
			}
			if len(s.payload) > 1 {
				t.Fatalf("%d-byte segment into a zero window", len(s.payload))
			}
			probeTimes = append(probeTimes, v.clk.Now())
			p.raw(seg{seq: p.sndNxt, ack: p.rcvNxt, flags: fACK, zeroWin: true})
		}
		if st := p.conn.State(); st != tcp.Established {
			t.Fatalf("connection %v after %v of answered zero-window probes (user timeout %v): "+
				"answered probes must keep it open (RFC 9293 MUST-37)", st, v.clk.Now().Sub(start), userTimeout)
		}
		if m := v.stats().TCP.Memory; m > 2*sendBuf {
			t.Fatalf("TCP memory %d with a %d send buffer", m, sendBuf)
		}
	}
	if len(probeTimes) < 3 {
		t.Fatalf("%d probes in 10 minutes", len(probeTimes))
	}
	if len(probeTimes) > 60 {
		t.Errorf("%d probes in 10 minutes: no backoff", len(probeTimes))
	}
	for i := 2; i < len(probeTimes); i++ {
		a, b := probeTimes[i-1].Sub(probeTimes[i-2]), probeTimes[i].Sub(probeTimes[i-1])
		if b+100*time.Millisecond < a {
			t.Errorf("probe interval shrank: %v then %v", a, b)
		}
	}
	lastAnswer := probeTimes[len(probeTimes)-1]
	t.Logf("%d probes, last interval %v", len(probeTimes), lastAnswer.Sub(probeTimes[len(probeTimes)-2]))
	select {
	case err := <-done:
		t.Fatalf("Write returned (%v) while the window is shut", err)
	default:
	}

	// Phase 2: the peer vanishes. Probes keep coming until the abort.
	var firstUnanswered time.Time
	var closedAt time.Time
	for v.clk.Now().Sub(lastAnswer) < userTimeout+maxRTO+time.Minute {
		v.advance(100 * time.Millisecond)
		for _, s := range v.sentTCP() {
			if s.flags&fRST == 0 && firstUnanswered.IsZero() {
				firstUnanswered = v.clk.Now()
			}
		}
		if p.conn.State() == tcp.Closed {
			closedAt = v.clk.Now()
			break
		}
	}
	if closedAt.IsZero() {
		t.Fatalf("connection %v %v after the peer went silent (user timeout %v)",
			p.conn.State(), v.clk.Now().Sub(lastAnswer), userTimeout)
	}
	if firstUnanswered.IsZero() {
		t.Fatal("no probe after the peer went silent")
	}
	t.Logf("silent peer: first unanswered probe %v after the last answer, abort %v after it",
		firstUnanswered.Sub(lastAnswer), closedAt.Sub(firstUnanswered))
	if closedAt.Sub(lastAnswer) < userTimeout {
		t.Errorf("aborted %v after the last answer, before the %v user timeout", closedAt.Sub(lastAnswer), userTimeout)
	}
	if late := closedAt.Sub(firstUnanswered); late > userTimeout+time.Second {
		t.Errorf("aborted %v after the first unanswered probe, want within the %v user timeout", late, userTimeout)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("Write of 10 MiB succeeded on a dead connection")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocked Write not released by the user timeout")
	}
	if m := v.stats().TCP.Memory; m != 0 {
		t.Errorf("%d bytes of TCP memory after the abort", m)
	}
}

// TestOutOfOrderHole: segments beyond a never-filled hole (in window,
// overlapping, beyond the window, 1-byte confetti) keep the queue within
// the receive buffer; filling the hole gives the exact stream.
func TestOutOfOrderHole(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	rbuf := v.s.TCP().Config().RecvBuffer
	stream := make([]byte, 60000)
	for i := range stream {
		stream[i] = byte(i*13 + i>>8)
	}
	base := p.sndNxt
	send := func(off, n int) {
		p.raw(seg{seq: base + uint32(off), ack: p.rcvNxt, flags: fACK, payload: stream[off : off+n]})
	}
	// Confetti: every other byte after a 1000-byte hole.
	for off := 1000; off < 21000; off += 2 {
		send(off, 1)
		if off%2000 == 0 {
			if m := v.stats().TCP.Memory; m > 2*rbuf {
				t.Fatalf("TCP memory %d > 2x receive buffer", m)
			}
		}
	}
	// Overlapping, larger segments and segments beyond the window.
	for off := 1500; off+1400 <= len(stream); off += 700 {
		send(off, 1400)
	}
	for k := 0; k < 1000; k++ {
		p.raw(seg{seq: base + uint32(rbuf) + uint32(k)*1000, ack: p.rcvNxt, flags: fACK, payload: stream[:1000]})
	}
	if m := v.stats().TCP.Memory; m > 2*rbuf {
		t.Fatalf("TCP memory %d > 2x receive buffer", m)
	}
	p.absorb(v.sentTCP())
	if st := p.conn.State(); st != tcp.Established {
		t.Fatalf("connection %v", st)
	}
	// Fill everything (a retransmission of the whole stream).
	for off := 0; off < len(stream); off += 1400 {
		send(off, min(1400, len(stream)-off))
	}
	got, err := p.read(len(stream))
	if err != nil || string(got) != string(stream) {
		t.Fatalf("stream after the hole: %d bytes, %v, equal=%v", len(got), err, string(got) == string(stream))
	}
	p.sndNxt = base + uint32(len(stream))
	p.alive()
}
