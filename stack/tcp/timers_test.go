package tcp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/transport"
)

// write queues data on c from the test goroutine (non-blocking).
func (p *peer) write(c *Conn, b []byte) {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	if n := c.tryWrite(b); n != len(b) {
		p.t.Fatalf("tryWrite %d/%d", n, len(b))
	}
}

// gapBetween advances virtual time in small steps until the layer sends
// a segment and returns the virtual time that took.
func (p *peer) waitSegment(max time.Duration) (Header, time.Duration) {
	p.t.Helper()
	start := p.n.clk.Now()
	for p.n.clk.Now().Sub(start) <= max {
		select {
		case b := <-p.out:
			h, _ := ParseHeader(b)
			p.settle()
			return h, p.n.clk.Now().Sub(start)
		default:
		}
		p.advance(10 * time.Millisecond)
	}
	p.t.Fatalf("no segment within %v", max)
	return nil, 0
}

func TestRTOBackoff(t *testing.T) {
	p := newPeer(t, Config{UserTimeout: time.Hour})
	c, iss := p.open(nil)
	p.write(c, []byte("data"))
	p.expect(FlagACK|FlagPSH, u32(iss+1), nil)
	want := 200 * time.Millisecond // MinRTO: the handshake RTT was 0
	for i := 0; i < 6; i++ {
		h, d := p.waitSegment(time.Hour)
		if h.Seq() != iss+1 || len(h.Payload()) != 4 {
			t.Fatalf("retransmission %d: %s", i, describe(h))
		}
		if d < want || d > want+10*time.Millisecond {
			t.Fatalf("retransmission %d after %v, want %v", i, d, want)
		}
		want *= 2
	}
	if st := p.e.l.lockedStats(); st.RTOEvents != 6 || st.Retransmits != 6 {
		t.Fatalf("stats rto=%d rtx=%d", st.RTOEvents, st.Retransmits)
	}
	// An ACK resets the backoff.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 5, flags: FlagACK, wnd: 1000})
	p.e.mu.Lock()
	bo, pending := c.backoff, c.rtx.Pending()
	p.e.mu.Unlock()
	if bo != 0 || pending {
		t.Fatalf("after ACK: backoff %d, timer pending %v", bo, pending)
	}
}

func TestUserTimeout(t *testing.T) {
	p := newPeer(t, Config{UserTimeout: 5 * time.Second})
	c, _ := p.open(nil)
	p.write(c, []byte("data"))
	for i := 0; i < 600 && p.state(c) != Closed; i++ {
		p.advance(100 * time.Millisecond)
	}
	if p.state(c) != Closed {
		t.Fatal("not aborted by the user timeout")
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Read: %v", err)
	}
	// RFC 5482: five seconds after the data was sent (the test's clock
	// moves in 100ms steps), not five seconds after the first RTO nor at
	// the next backed-off RTO after that.
	if d := p.n.clk.Now().Sub(epoch); d < 5*time.Second || d > 5*time.Second+200*time.Millisecond {
		t.Fatalf("aborted after %v, want 5s", d)
	}
}

// TestZeroWindowUserTimeout: probes of a zero window that the peer
// answers keep the connection open past the user timeout (RFC 9293
// §3.8.6.1, MUST-37); once the peer stops answering, the user timeout
// aborts it, counted from the first unanswered probe.
func TestZeroWindowUserTimeout(t *testing.T) {
	const uto = 5 * time.Second
	p := newPeer(t, Config{UserTimeout: uto, MaxRTO: 2 * time.Second})
	c, iss := p.open(nil)
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 0})
	p.write(c, []byte("data"))
	// Answer every probe for six user timeouts.
	for start := p.n.clk.Now(); p.n.clk.Now().Sub(start) < 6*uto; {
		h, _ := p.waitSegment(time.Minute)
		if h.Seq() != iss || len(h.Payload()) != 0 {
			t.Fatalf("not a zero-window probe: %s", describe(h))
		}
		if st := p.state(c); st != Established {
			t.Fatalf("%v after %v of answered probes", st, p.n.clk.Now().Sub(start))
		}
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 0})
	}
	// Silence: the next probe is the first unanswered one.
	_, _ = p.waitSegment(time.Minute)
	first := p.n.clk.Now()
	for p.state(c) != Closed && p.n.clk.Now().Sub(first) < 2*uto {
		select {
		case <-p.out:
		default:
		}
		p.advance(10 * time.Millisecond)
	}
	if d := p.n.clk.Now().Sub(first); p.state(c) != Closed || d < uto || d > uto+20*time.Millisecond {
		t.Fatalf("%v %v after the first unanswered probe, want Closed after %v", p.state(c), d, uto)
	}
}

func TestSynRetries(t *testing.T) {
	p := newPeer(t, Config{SynRetries: 3})
	errc := make(chan error, 1)
	go func() {
		_, err := p.e.l.Dial(context.Background(), addrPort("10.0.0.2:80"))
		errc <- err
	}()
	h := p.expect(FlagSYN, nil, nil)
	iss := h.Seq()
	want := time.Second
	for i := 0; i < 3; i++ {
		h, d := p.waitSegment(time.Minute)
		if h.Flags() != FlagSYN || h.Seq() != iss {
			t.Fatalf("retry %d: %s", i, describe(h))
		}
		if d < want || d > want+10*time.Millisecond {
			t.Fatalf("retry %d after %v, want %v", i, d, want)
		}
		want *= 2
	}
	p.advance(want)
	select {
	case err := <-errc:
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("Dial: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Dial did not time out")
	}
}

func TestDialRefused(t *testing.T) {
	p := newPeer(t, Config{})
	errc := make(chan error, 1)
	go func() {
		_, err := p.e.l.Dial(context.Background(), addrPort("10.0.0.2:80"))
		errc <- err
	}()
	h := p.expect(FlagSYN, nil, nil)
	p.send(seg{sport: 80, dport: h.SrcPort(), seq: 0, ack: h.Seq() + 1, flags: FlagRST | FlagACK})
	if err := <-errc; !errors.Is(err, ErrRefused) {
		t.Fatalf("Dial: %v", err)
	}
}

func TestTimeWaitExpiry(t *testing.T) {
	p := newPeer(t, Config{TimeWait: 30 * time.Second})
	c, iss := p.open(nil)
	c.Close()
	p.expect(FlagACK|FlagFIN, u32(iss+1), nil)
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 2, flags: FlagACK | FlagFIN, wnd: 1000})
	p.expect(FlagACK, u32(iss+2), u32(peerISN+2))
	if s := p.state(c); s != TimeWait {
		t.Fatalf("state %s", s)
	}
	p.advance(29 * time.Second)
	// A retransmitted FIN is ACKed and restarts the 2MSL timer.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 2, flags: FlagACK | FlagFIN, wnd: 1000})
	p.expect(FlagACK, u32(iss+2), u32(peerISN+2))
	p.advance(29 * time.Second)
	if s := p.state(c); s != TimeWait {
		t.Fatalf("state %s, want TIME_WAIT (restarted)", s)
	}
	p.advance(2 * time.Second)
	if s := p.state(c); s != Closed {
		t.Fatalf("state %s after 2MSL", s)
	}
	if n := p.e.l.lockedStats().States[TimeWait]; n != 0 {
		t.Fatalf("%d in TIME_WAIT", n)
	}
}

func TestZeroWindowProbe(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 0})
	p.write(c, []byte("blocked"))
	p.none()
	want := 200 * time.Millisecond
	for i := 0; i < 4; i++ {
		h, d := p.waitSegment(time.Hour)
		if h.Seq() != iss || len(h.Payload()) != 0 || h.Flags() != FlagACK {
			t.Fatalf("probe %d: %s", i, describe(h))
		}
		if d < want || d > want+10*time.Millisecond {
			t.Fatalf("probe %d after %v, want %v", i, d, want)
		}
		want *= 2
	}
	// The window opens: data flows.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 1000})
	h := p.next()
	if string(h.Payload()) != "blocked" {
		t.Fatalf("after window opened: %s", describe(h))
	}
}

func TestKeepalive(t *testing.T) {
	p := newPeer(t, Config{KeepIdle: 10 * time.Second, KeepInterval: time.Second, KeepCount: 3})
	c, iss := p.open(nil)
	c.SetKeepAlive(true)
	p.none()
	h, d := p.waitSegment(time.Minute)
	if h.Seq() != iss || d < 9*time.Second || d > 10*time.Second+20*time.Millisecond {
		t.Fatalf("first probe %s after %v", describe(h), d)
	}
	// Answered: idle restarts.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 1000})
	h, d = p.waitSegment(time.Minute)
	if d < 9*time.Second {
		t.Fatalf("probe after answer came after %v", d)
	}
	for i := 0; i < 2; i++ {
		_, d = p.waitSegment(time.Minute)
		if d > time.Second+20*time.Millisecond {
			t.Fatalf("probe interval %v", d)
		}
	}
	p.advance(2 * time.Second)
	if s := p.state(c); s != Closed {
		t.Fatalf("state %s after %d unanswered probes", s, 3)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Read: %v", err)
	}
}

func TestDelayedAck(t *testing.T) {
	p := newPeer(t, Config{QuickAcks: 1, DelayedAck: 100 * time.Millisecond})
	_, iss := p.open(nil)
	seq := uint32(peerISN + 1)
	send := func(n int) {
		p.send(seg{sport: 5000, dport: 80, seq: seq, ack: iss + 1, flags: FlagACK, wnd: 1000, data: make([]byte, n)})
		seq += uint32(n)
	}
	send(100) // quick ACK
	p.expect(FlagACK, nil, u32(seq))
	send(100) // delayed
	p.none()
	h, d := p.waitSegment(time.Second)
	if h.Ack() != seq || d < 90*time.Millisecond || d > 110*time.Millisecond {
		t.Fatalf("delayed ACK %s after %v", describe(h), d)
	}
	send(1460)
	p.none()
	send(1460) // second segment: ACK at once
	p.expect(FlagACK, nil, u32(seq))
}

func TestICMPErrors(t *testing.T) {
	p := newPeer(t, Config{})
	errc := make(chan error, 1)
	go func() {
		_, err := p.e.l.Dial(context.Background(), addrPort("10.0.0.2:80"))
		errc <- err
	}()
	h := p.expect(FlagSYN, nil, nil)
	// A quoted sequence number outside SND.UNA..SND.NXT is ignored.
	q := append([]byte(nil), h[:8]...)
	q[7]++
	q[7]++
	p.e.mu.Lock()
	p.e.l.Error(&transport.ControlError{Kind: transport.HostUnreachable, Src: addrA, Dst: addrB, Quoted: q})
	p.e.mu.Unlock()
	select {
	case err := <-errc:
		t.Fatalf("Dial ended by a bogus ICMP error: %v", err)
	default:
	}
	p.e.mu.Lock()
	p.e.l.Error(&transport.ControlError{Kind: transport.HostUnreachable, Src: addrA, Dst: addrB, Quoted: h[:8]})
	p.e.mu.Unlock()
	if err := <-errc; !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Dial: %v", err)
	}
}

func TestPMTU(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open([]byte{2, 4, 5, 180})
	p.write(c, make([]byte, 3000))
	h := p.next()
	if len(h.Payload()) != 1460 {
		t.Fatalf("first segment %d bytes", len(h.Payload()))
	}
	p.drain()
	p.e.mu.Lock()
	p.e.l.Error(&transport.ControlError{Kind: transport.PacketTooBig, Src: addrA, Dst: addrB, Quoted: h[:8], MTU: 1000})
	p.e.mu.Unlock()
	h = p.next()
	if h.Seq() != iss+1 || len(h.Payload()) != 960 {
		t.Fatalf("after frag-needed: %s", describe(h))
	}
}

func TestTimeWaitReopen(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	c.Close()
	p.expect(FlagACK|FlagFIN, u32(iss+1), nil)
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 2, flags: FlagACK | FlagFIN, wnd: 1000})
	p.expect(FlagACK, u32(iss+2), u32(peerISN+2))
	if s := p.state(c); s != TimeWait {
		t.Fatalf("state %s", s)
	}
	// An old SYN gets a challenge ACK; a newer one opens a new connection.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN, flags: FlagSYN, wnd: 1000})
	p.expect(FlagACK, u32(iss+2), u32(peerISN+2))
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 100000, flags: FlagSYN, wnd: 1000})
	p.expect(FlagSYN|FlagACK, nil, u32(peerISN+100001))
	if s := p.state(c); s != Closed {
		t.Fatalf("old conn %s", s)
	}
	if n := p.e.l.lockedStats().States[SynReceived]; n != 1 {
		t.Fatalf("%d half-open", n)
	}
}

func TestMaxTimeWait(t *testing.T) {
	p := newPeer(t, Config{MaxTimeWait: 1})
	ln, _ := p.e.l.Listen(80)
	_ = ln
	for i := 0; i < 3; i++ {
		port := uint16(6000 + i)
		p.send(seg{sport: port, dport: 80, seq: peerISN, flags: FlagSYN, wnd: 1000})
		iss := p.expect(FlagSYN|FlagACK, nil, nil).Seq()
		p.send(seg{sport: port, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 1000})
		c, _ := ln.AcceptTCP()
		c.Close()
		p.expect(FlagACK|FlagFIN, nil, nil)
		p.send(seg{sport: port, dport: 80, seq: peerISN + 1, ack: iss + 2, flags: FlagACK | FlagFIN, wnd: 1000})
		p.expect(FlagACK, nil, nil)
	}
	if n := p.e.l.lockedStats().States[TimeWait]; n != 1 {
		t.Fatalf("%d in TIME_WAIT, want 1", n)
	}
}

// An active closer may take over its own TIME_WAIT 4-tuple for a new
// connection a second later when timestamps are on (tcp_tw_reuse), with
// its sequence space above the old one; without timestamps, or sooner, the
// port stays taken.
func TestTimeWaitPortReuse(t *testing.T) {
	for _, ts := range []bool{true, false} {
		cfg := Config{EphemeralLow: 50000, EphemeralHigh: 50000, DisableTimestamps: !ts}
		n := newTestNet(t, 1, faults{}, cfg, cfg)
		a, b := n.connect(80)
		a.Close()
		if !n.run(time.Second, func() bool { return b.stateLocked(n, 1) == CloseWait }) {
			t.Fatalf("ts=%v: FIN: %s", ts, b.debugString())
		}
		b.Close()
		if !n.run(time.Second, func() bool { return a.stateLocked(n, 0) == TimeWait && b.stateLocked(n, 1) == Closed }) {
			t.Fatalf("ts=%v: close: %s / %s", ts, a.debugString(), b.debugString())
		}
		var ok bool
		n.lockedDo(0, func(l *Layer) { _, ok = l.pickPort(a.id) })
		if ok {
			t.Fatalf("ts=%v: TIME_WAIT port reused at once", ts)
		}
		n.run(time.Second, func() bool { return false })
		var oldMax uint32
		n.lockedDo(0, func(l *Layer) { _, ok = l.pickPort(a.id); oldMax = a.sndMax })
		if ok != ts {
			t.Fatalf("ts=%v: reuse after 1s: %v", ts, ok)
		}
		if !ts {
			if a.State() != TimeWait {
				t.Fatalf("TIME_WAIT without timestamps ended: %s", a.State())
			}
			continue
		}
		if a.State() != Closed {
			t.Fatalf("old connection %s after takeover", a.State())
		}
		var c *Conn
		n.lockedDo(0, func(l *Layer) { c = l.startDial(addrB, 80) })
		if c.id != a.id || c.iss != oldMax+65537 {
			t.Fatalf("new connection %v iss %d, want %v iss %d", c.id, c.iss, a.id, oldMax+65537)
		}
		ln := n.ends[1].l.listeners[80].v4
		if !n.run(time.Minute, func() bool {
			var q int
			n.lockedDo(1, func(*Layer) { q = len(ln.queue) })
			return q > 0 && c.stateLocked(n, 0) == Established
		}) {
			t.Fatalf("reopened connection: %s", c.debugString())
		}
		if st := n.ends[0].l.lockedStats(); st.States[TimeWait] != 0 || st.Retransmits != 0 {
			t.Fatalf("stats after reuse: %+v", st)
		}
	}
}

// An ACK of new data restarts the retransmission timer (RFC 6298 §5.3):
// the retransmission comes one RTO after the ACK, not after the first
// transmission, whether or not the timer was moved in the queue at once.
func TestRTORestartedByAck(t *testing.T) {
	p := newPeer(t, Config{UserTimeout: time.Hour})
	c, iss := p.open(nil)
	p.write(c, []byte("abcdefgh"))
	p.expect(FlagACK|FlagPSH, u32(iss+1), nil)
	for i := 0; i < 3; i++ {
		p.advance(150 * time.Millisecond)
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1 + uint32(2*i+2), flags: FlagACK, wnd: 1000})
		p.none()
	}
	p.e.mu.Lock()
	rto := c.rto
	p.e.mu.Unlock()
	h, d := p.waitSegment(time.Hour)
	if h.Seq() != iss+7 || string(h.Payload()) != "gh" {
		t.Fatalf("retransmission: %s", describe(h))
	}
	if d < rto || d > rto+10*time.Millisecond {
		t.Fatalf("retransmission %v after the last ACK, want %v", d, rto)
	}
}
