package tcp

import (
	"context"
	"errors"
	"io"
	"syscall"
	"testing"

	"time"

	"github.com/mirago/mirago/stack/inet"
)

const peerISN = 1000

// open makes a passive connection on port 80 with the scripted peer (port
// 5000, no options unless opts). It returns the conn and our ISS.
func (p *peer) open(opts []byte) (*Conn, uint32) {
	p.t.Helper()
	ln := p.e.l.listeners[80].find(addrA)
	if ln == nil {
		var err error
		ln, err = p.e.l.Listen(80)
		if err != nil {
			p.t.Fatal(err)
		}
	}
	p.send(seg{sport: 5000, dport: 80, seq: peerISN, flags: FlagSYN, wnd: 65535, opts: opts})
	h := p.expect(FlagSYN|FlagACK, nil, u32(peerISN+1))
	iss := h.Seq()
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 65535, opts: tsOpt(opts, 1001, h)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ln.AcceptContext(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	return c, iss
}

// tsOpt returns a timestamp option with TSval val echoing h's TSval when
// the SYN carried timestamps (opts non-nil), else nil.
func tsOpt(opts []byte, val uint32, h Header) []byte {
	if opts == nil {
		return nil
	}
	o, _ := ParseOptions(h.Options())
	return tsBytes(val, o.TSVal)
}

func tsBytes(val, ecr uint32) []byte {
	return []byte{1, 1, 8, 10, byte(val >> 24), byte(val >> 16), byte(val >> 8), byte(val), byte(ecr >> 24), byte(ecr >> 16), byte(ecr >> 8), byte(ecr)}
}

func (p *peer) state(c *Conn) State {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	return c.state
}

func TestNoListenerRST(t *testing.T) {
	p := newPeer(t, Config{})
	p.send(seg{sport: 5000, dport: 81, seq: 7, flags: FlagSYN, wnd: 100})
	p.expect(FlagRST|FlagACK, u32(0), u32(8))
	p.send(seg{sport: 5000, dport: 81, seq: 7, ack: 99, flags: FlagACK, wnd: 100})
	p.expect(FlagRST, u32(99), nil)
	p.send(seg{sport: 5000, dport: 81, seq: 7, ack: 99, flags: FlagRST | FlagACK})
	p.none()
	if got := p.e.l.lockedStats().Drops[DropNoListener]; got != 3 {
		t.Fatalf("no-listener drops = %d", got)
	}
}

func TestRFC5961(t *testing.T) {
	t.Run("in-window RST gets a challenge ACK", func(t *testing.T) {
		p := newPeer(t, Config{})
		c, iss := p.open(nil)
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1 + 100, flags: FlagRST})
		p.expect(FlagACK, u32(iss+1), u32(peerISN+1))
		if s := p.state(c); s != Established {
			t.Fatalf("state %s", s)
		}
	})
	t.Run("exact RST resets", func(t *testing.T) {
		p := newPeer(t, Config{})
		c, _ := p.open(nil)
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, flags: FlagRST})
		p.none()
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, ErrReset) || !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("Read after RST: %v", err)
		}
		if p.e.l.lockedStats().States[Established] != 0 {
			t.Fatal("still counted established")
		}
	})
	t.Run("out-of-window RST ignored", func(t *testing.T) {
		p := newPeer(t, Config{})
		c, _ := p.open(nil)
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1 + 1<<20, flags: FlagRST})
		p.none()
		if s := p.state(c); s != Established {
			t.Fatalf("state %s", s)
		}
	})
	t.Run("SYN on established gets a challenge ACK", func(t *testing.T) {
		p := newPeer(t, Config{})
		c, iss := p.open(nil)
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, flags: FlagSYN, wnd: 100})
		p.expect(FlagACK, u32(iss+1), u32(peerISN+1))
		if s := p.state(c); s != Established {
			t.Fatalf("state %s", s)
		}
	})
	t.Run("ACK of unsent data", func(t *testing.T) {
		p := newPeer(t, Config{})
		c, iss := p.open(nil)
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1000, flags: FlagACK, wnd: 100, data: []byte("x")})
		p.expect(FlagACK, u32(iss+1), u32(peerISN+1))
		if n := c.rxLenLocked(p); n != 0 {
			t.Fatalf("data of a bad-ACK segment was accepted (%d bytes)", n)
		}
	})
	t.Run("ACK too old gets a challenge ACK", func(t *testing.T) {
		p := newPeer(t, Config{})
		_, iss := p.open(nil)
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss - 70000, flags: FlagACK, wnd: 100})
		p.expect(FlagACK, u32(iss+1), u32(peerISN+1))
	})
	t.Run("challenge ACK rate limit", func(t *testing.T) {
		p := newPeer(t, Config{})
		c, _ := p.open(nil)
		for i := 0; i < 10000; i++ {
			p.send(seg{sport: 5000, dport: 80, seq: peerISN + 2 + uint32(i), flags: FlagRST})
		}
		n := len(p.out)
		p.drain()
		if n == 0 || n > 100 {
			t.Fatalf("%d challenge ACKs for 10^4 in-window RSTs; want 1..100", n)
		}
		if s := p.state(c); s != Established {
			t.Fatalf("state %s", s)
		}
		st := p.e.l.lockedStats()
		if st.ChallengeAcks != uint64(n) || st.ChallengeAcksLimited != uint64(10000-n) {
			t.Fatalf("stats %d sent %d limited", st.ChallengeAcks, st.ChallengeAcksLimited)
		}
		// A second later the budget is back.
		p.advance(time.Second)
		p.drain()
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 5, flags: FlagRST})
		p.expect(FlagACK, nil, nil)
	})
}

func (c *Conn) rxLenLocked(p *peer) int {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	return c.rxLen()
}

func TestAcceptability(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	// Data entirely before RCV.NXT: not acceptable, ACK.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN - 10, ack: iss + 1, flags: FlagACK, wnd: 100, data: []byte("old")})
	p.expect(FlagACK, u32(iss+1), u32(peerISN+1))
	// Data beyond the window: ACK, dropped.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1 + 1<<20, ack: iss + 1, flags: FlagACK, wnd: 100, data: []byte("far")})
	p.expect(FlagACK, u32(iss+1), u32(peerISN+1))
	// Overlapping the left edge: the new part is taken.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN - 2, ack: iss + 1, flags: FlagACK | FlagPSH, wnd: 100, data: []byte("xxxhello")})
	p.expect(FlagACK, u32(iss+1), u32(peerISN+1+5))
	buf := make([]byte, 10)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	// Out of order, then the gap: SACK-less immediate ACKs, then all data.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1 + 5 + 3, ack: iss + 1, flags: FlagACK, wnd: 100, data: []byte("def")})
	p.expect(FlagACK, nil, u32(peerISN+1+5))
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1 + 5, ack: iss + 1, flags: FlagACK, wnd: 100, data: []byte("abc")})
	p.expect(FlagACK, nil, u32(peerISN+1+11))
	n, _ = c.Read(buf)
	if string(buf[:n]) != "abcdef" {
		t.Fatalf("Read = %q", buf[:n])
	}
	// FIN: EOF.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 12, ack: iss + 1, flags: FlagACK | FlagFIN, wnd: 100})
	p.expect(FlagACK, nil, u32(peerISN+13))
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("Read after FIN: %v", err)
	}
	if s := p.state(c); s != CloseWait {
		t.Fatalf("state %s", s)
	}
	c.Close()
	p.expect(FlagACK|FlagFIN, u32(iss+1), u32(peerISN+13))
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 13, ack: iss + 2, flags: FlagACK, wnd: 100})
	if s := p.state(c); s != Closed {
		t.Fatalf("state %s", s)
	}
}

func TestPAWS(t *testing.T) {
	p := newPeer(t, Config{})
	syn := append([]byte{2, 4, 5, 180}, tsBytes(1000, 0)...)
	c, iss := p.open(syn)
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 100, opts: tsBytes(2000, 0), data: []byte("new")})
	p.drain()
	// An old timestamp: dropped by PAWS, answered with an ACK.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 4, ack: iss + 1, flags: FlagACK, wnd: 100, opts: tsBytes(1500, 0), data: []byte("old")})
	p.expect(FlagACK, nil, u32(peerISN+4))
	if n := c.rxLenLocked(p); n != 3 {
		t.Fatalf("rx %d bytes, want 3", n)
	}
	if p.e.l.lockedStats().Drops[DropPAWS] != 1 {
		t.Fatal("PAWS drop not counted")
	}
	// A RST is exempt from PAWS (RFC 7323 §5.3 R1 applies to non-RST).
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 4, flags: FlagRST, opts: tsBytes(1, 0)})
	if s := p.state(c); s != Closed {
		t.Fatalf("state %s after RST", s)
	}
}

func TestSynCookies(t *testing.T) { forFamilies(t, testSynCookies) }

func testSynCookies(t *testing.T) {
	p := newPeer(t, Config{MaxHalfOpen: 1})
	ln, _ := p.e.l.Listen(80)
	// First SYN takes the only half-open slot.
	p.send(seg{sport: 5000, dport: 80, seq: 1, flags: FlagSYN, wnd: 1000})
	p.expect(FlagSYN|FlagACK, nil, u32(2))
	// The second gets a cookie.
	syn := append([]byte{2, 4, 5, 180, 1, 3, 3, 7, 4, 2}, tsBytes(77, 0)...)
	p.send(seg{sport: 5001, dport: 80, seq: 500, flags: FlagSYN, wnd: 1000, opts: syn})
	h := p.expect(FlagSYN|FlagACK, nil, u32(501))
	cookie := h.Seq()
	o, _ := ParseOptions(h.Options())
	if !o.HasTS || !o.HasWS || !o.SACKOK {
		t.Fatalf("cookie SYN-ACK options %+v", o)
	}
	st := p.e.l.lockedStats()
	if st.SynCookiesSent != 1 || st.States[SynReceived] != 1 {
		t.Fatalf("stats: %+v", st)
	}
	// Invalid cookie: dropped, no connection, no RST.
	p.send(seg{sport: 5001, dport: 80, seq: 501, ack: cookie + 2, flags: FlagACK, wnd: 1000, opts: tsBytes(78, o.TSVal)})
	p.none()
	if p.e.l.lockedStats().SynCookiesInvalid != 1 {
		t.Fatal("invalid cookie not counted")
	}
	// Valid cookie: established, with data.
	p.send(seg{sport: 5001, dport: 80, seq: 501, ack: cookie + 1, flags: FlagACK | FlagPSH, wnd: 1000, opts: tsBytes(78, o.TSVal), data: []byte("hi")})
	p.expect(FlagACK, u32(cookie+1), u32(503))
	c, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	n, _ := c.Read(buf)
	if string(buf[:n]) != "hi" {
		t.Fatalf("read %q", buf[:n])
	}
	p.e.mu.Lock()
	// The peer's 1460 clamped to what we offer (1460 over IPv4, 1440
	// over IPv6), which the cookie's table holds exactly.
	if c.sndWS != 7 || c.f&fSACK == 0 || c.f&fTS == 0 || int(c.mss) != p.e.l.mssFor(addrB) {
		t.Errorf("cookie conn: ws=%d f=%#x mss=%d", c.sndWS, c.f, c.mss)
	}
	p.e.mu.Unlock()
	if p.e.l.lockedStats().SynCookiesValid != 1 {
		t.Fatal("valid cookie not counted")
	}
}

func TestSimultaneousOpenAndClose(t *testing.T) {
	n := newTestNet(t, 3, faults{delay: 5 * time.Millisecond}, Config{}, Config{})
	var a, b *Conn
	n.lockedDo(0, func(l *Layer) { a = l.startDialFrom(addrB, 7000, 7001) })
	n.lockedDo(1, func(l *Layer) { b = l.startDialFrom(addrA, 7001, 7000) })
	ok := n.run(time.Minute, func() bool {
		return a.stateLocked(n, 0) == Established && b.stateLocked(n, 1) == Established
	})
	if !ok {
		t.Fatalf("simultaneous open: %s %s", a.debugString(), b.debugString())
	}
	if st := n.ends[0].l.lockedStats(); st.ActiveOpens != 1 {
		t.Fatalf("active opens %d", st.ActiveOpens)
	}
	// Simultaneous close: both FINs cross → CLOSING → TIME_WAIT.
	n.lockedDo(0, func(*Layer) { a.shutWrite() })
	n.lockedDo(1, func(*Layer) { b.shutWrite() })
	ok = n.run(time.Second, func() bool {
		return a.stateLocked(n, 0) == TimeWait && b.stateLocked(n, 1) == TimeWait
	})
	if !ok {
		t.Fatalf("simultaneous close: %s / %s", a.debugString(), b.debugString())
	}
	n.run(2*time.Minute, func() bool { return false })
	if a.State() != Closed || b.State() != Closed {
		t.Fatal("TIME_WAIT did not expire")
	}
}

func (c *Conn) stateLocked(n *testNet, side int) State {
	var s State
	n.lockedDo(side, func(*Layer) { s = c.state })
	return s
}

func (l *Layer) startDialFrom(dst inet.Addr, lport, rport uint16) *Conn {
	src, _ := l.ip.Source(dst)
	id := tuple{laddr: src, raddr: dst, lport: lport, rport: rport}
	c := l.newConn(id)
	c.f |= fActive | fAccepted
	c.setState(SynSent)
	l.conns[id] = c
	c.rttAt = l.now()
	c.sendSYN()
	c.armRTX()
	return c
}

// TestFlagCombinations sends all 64 combinations of FIN SYN RST PSH ACK URG
// to a closed port, a listener and an established connection.
func TestFlagCombinations(t *testing.T) {
	for fl := 0; fl < 64; fl++ {
		flags := uint8(fl)
		has := func(f uint8) bool { return flags&f != 0 }
		t.Run("closed/"+flagString(flags), func(t *testing.T) {
			p := newPeer(t, Config{})
			p.send(seg{sport: 5000, dport: 99, seq: 10, ack: 20, flags: flags, wnd: 100, data: []byte("d")})
			switch {
			case has(FlagRST):
				p.none()
			case has(FlagACK):
				p.expect(FlagRST, u32(20), nil)
			default:
				l := uint32(1)
				if has(FlagSYN) {
					l++
				}
				if has(FlagFIN) {
					l++
				}
				p.expect(FlagRST|FlagACK, u32(0), u32(10+l))
			}
		})
		t.Run("listen/"+flagString(flags), func(t *testing.T) {
			p := newPeer(t, Config{})
			p.e.l.Listen(80)
			p.send(seg{sport: 5000, dport: 80, seq: 10, ack: 20, flags: flags, wnd: 100})
			switch {
			case has(FlagRST):
				p.none()
			case has(FlagACK):
				p.expect(FlagRST, u32(20), nil)
			case has(FlagSYN) && !has(FlagFIN):
				p.expect(FlagSYN|FlagACK, nil, u32(11))
			default:
				p.none()
			}
		})
		t.Run("established/"+flagString(flags), func(t *testing.T) {
			p := newPeer(t, Config{})
			c, iss := p.open(nil)
			p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: flags, wnd: 100})
			st := p.state(c)
			switch {
			case has(FlagRST):
				p.none()
				if st != Closed {
					t.Fatalf("state %s", st)
				}
			case has(FlagSYN):
				p.expect(FlagACK, u32(iss+1), u32(peerISN+1))
				if st != Established {
					t.Fatalf("state %s", st)
				}
			case !has(FlagACK):
				p.none()
				if st != Established {
					t.Fatalf("state %s", st)
				}
			case has(FlagFIN):
				p.expect(FlagACK, u32(iss+1), u32(peerISN+2))
				if st != CloseWait {
					t.Fatalf("state %s", st)
				}
			default:
				p.none()
				if st != Established {
					t.Fatalf("state %s", st)
				}
			}
		})
	}
}

func TestSynCookiesBacklogFull(t *testing.T) {
	p := newPeer(t, Config{Backlog: 1})
	ln, _ := p.e.l.Listen(80)
	p.send(seg{sport: 5000, dport: 80, seq: 1, flags: FlagSYN, wnd: 1000})
	iss := p.expect(FlagSYN|FlagACK, nil, u32(2)).Seq()
	p.send(seg{sport: 5000, dport: 80, seq: 2, ack: iss + 1, flags: FlagACK, wnd: 1000})
	// The accept queue is full: the next SYN gets a cookie, no state.
	p.send(seg{sport: 5001, dport: 80, seq: 100, flags: FlagSYN, wnd: 1000})
	cookie := p.expect(FlagSYN|FlagACK, nil, u32(101)).Seq()
	st := p.e.l.lockedStats()
	if st.SynCookiesSent != 1 || st.States[SynReceived] != 0 {
		t.Fatalf("cookies %d, half-open %d", st.SynCookiesSent, st.States[SynReceived])
	}
	// Its ACK while the queue is still full is dropped...
	p.send(seg{sport: 5001, dport: 80, seq: 101, ack: cookie + 1, flags: FlagACK, wnd: 1000})
	p.none()
	// ...and accepted once there is room.
	if _, err := ln.AcceptTCP(); err != nil {
		t.Fatal(err)
	}
	p.send(seg{sport: 5001, dport: 80, seq: 101, ack: cookie + 1, flags: FlagACK, wnd: 1000})
	c, err := ln.AcceptTCP()
	if err != nil || c.RemoteAddr().(interface{ String() string }).String() != "10.0.0.2:5001" {
		t.Fatalf("accept %v %v", c, err)
	}
	if p.e.l.lockedStats().SynCookiesValid != 1 {
		t.Fatal("valid cookie not counted")
	}
}

func TestOrphanFinWait2Timeout(t *testing.T) {
	p := newPeer(t, Config{TimeWait: 10 * time.Second})
	c, iss := p.open(nil)
	c.Close()
	p.expect(FlagACK|FlagFIN, u32(iss+1), nil)
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 2, flags: FlagACK, wnd: 1000})
	if s := p.state(c); s != FinWait2 {
		t.Fatalf("state %s", s)
	}
	p.advance(11 * time.Second)
	if s := p.state(c); s != Closed {
		t.Fatalf("orphan FIN_WAIT_2 not reaped: %s", s)
	}
}

func TestCloseRead(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	c.CloseRead()
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read after CloseRead: %v", err)
	}
	// Data is still acknowledged (and discarded); writing still works.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 1000, data: []byte("ignored")})
	p.expect(FlagACK, nil, u32(peerISN+8))
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	p.expect(FlagACK|FlagPSH, u32(iss+1), nil)
	if m := p.e.l.lockedStats().Memory; m != minBlock {
		t.Fatalf("memory %d: only the 1-byte send ring should be held", m)
	}
}

func TestSynSentRules(t *testing.T) {
	p := newPeer(t, Config{})
	type res struct {
		c   *Conn
		err error
	}
	rc := make(chan res, 1)
	go func() {
		c, err := p.e.l.Dial(context.Background(), addrPort("10.0.0.2:80"))
		rc <- res{c, err}
	}()
	syn := p.expect(FlagSYN, nil, nil)
	iss, lport := syn.Seq(), syn.SrcPort()
	o, _ := ParseOptions(syn.Options())
	if !o.HasMSS || o.MSS != 1460 || !o.HasWS || !o.SACKOK || !o.HasTS {
		t.Fatalf("SYN options %+v", o)
	}
	// A SYN-ACK acking the wrong number: RST <SEQ=SEG.ACK>, still SYN_SENT.
	p.send(seg{sport: 80, dport: lport, seq: 500, ack: iss + 7, flags: FlagSYN | FlagACK, wnd: 1000})
	p.expect(FlagRST, u32(iss+7), nil)
	// A RST with an unacceptable ACK is ignored.
	p.send(seg{sport: 80, dport: lport, seq: 0, ack: iss + 7, flags: FlagRST | FlagACK})
	p.none()
	// A RST without ACK is ignored too.
	p.send(seg{sport: 80, dport: lport, seq: 0, flags: FlagRST})
	p.none()
	// The real SYN-ACK (window scale 2, timestamps): established, ACK
	// echoing our timestamp.
	opts := append([]byte{2, 4, 5, 180, 1, 3, 3, 2, 4, 2}, tsBytes(900, o.TSVal)...)
	p.send(seg{sport: 80, dport: lport, seq: 500, ack: iss + 1, flags: FlagSYN | FlagACK, wnd: 1000, opts: opts})
	h := p.expect(FlagACK, u32(iss+1), u32(501))
	o2, _ := ParseOptions(h.Options())
	if !o2.HasTS || o2.TSEcr != 900 {
		t.Fatalf("ACK options %+v", o2)
	}
	r := <-rc
	if r.err != nil {
		t.Fatal(r.err)
	}
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	if r.c.sndWnd != 1000 || r.c.sndWS != 2 || r.c.rcvWS != uint8(p.e.l.ourWS()) || r.c.f&fSACK == 0 {
		t.Fatalf("negotiated: %s ws=%d/%d", r.c.debugString(), r.c.sndWS, r.c.rcvWS)
	}
	if st := p.e.l.StatsLocked(); st.ActiveOpens != 1 || st.States[Established] != 1 {
		t.Fatalf("stats %+v", st)
	}
}
