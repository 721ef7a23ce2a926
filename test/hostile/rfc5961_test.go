package hostile

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// Case 7: RFC 9293 segment processing and RFC 5961 blind-attack defences.

func flagName(f uint8) string {
	names := "FSRPAU"
	s := ""
	for i := 0; i < 6; i++ {
		if f&(1<<i) != 0 {
			s += names[i : i+1]
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// TestFlagsClosedPort: all 64 flag combinations to a port with no
// listener (RFC 9293 §3.10.7.1).
func TestFlagsClosedPort(t *testing.T) {
	v := newVictim(t, stack.Config{})
	for f := uint8(0); f < 64; f++ {
		payload := []byte("xy")
		v.inject(tcpFrame(peerIP, seg{sport: 33333, dport: 9, seq: 1000, ack: 5000, flags: f, win: 100, payload: payload}))
		segs := v.sentTCP()
		switch {
		case f&fRST != 0:
			if len(segs) != 0 {
				t.Errorf("%s: answered a RST", flagName(f))
			}
		case f&fACK != 0:
			if len(segs) != 1 || segs[0].flags != fRST || segs[0].seq != 5000 {
				t.Errorf("%s: want <SEQ=SEG.ACK><CTL=RST>, got %+v", flagName(f), segs)
			}
		default:
			n := uint32(len(payload))
			if f&fSYN != 0 {
				n++
			}
			if f&fFIN != 0 {
				n++
			}
			if len(segs) != 1 || segs[0].flags != fRST|fACK || segs[0].seq != 0 || segs[0].ack != 1000+n {
				t.Errorf("%s: want <SEQ=0><ACK=%d><CTL=RST,ACK>, got %+v", flagName(f), 1000+n, segs)
			}
		}
	}
}

// TestFlagsListening: all 64 combinations to a listener (§3.10.7.2).
func TestFlagsListening(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ln := v.listen(80)
	p := establish(v, ln, peerIP, 40000, false)
	for f := uint8(0); f < 64; f++ {
		port := 30000 + uint16(f)
		v.inject(tcpFrame(peerIP, seg{sport: port, dport: 80, seq: 1000, ack: 5000, flags: f, win: 100}))
		segs := v.sentTCP()
		switch {
		case f&fRST != 0:
			if len(segs) != 0 {
				t.Errorf("%s: answered a RST", flagName(f))
			}
		case f&fACK != 0:
			if len(segs) != 1 || segs[0].flags != fRST || segs[0].seq != 5000 {
				t.Errorf("%s: want RST seq=SEG.ACK, got %+v", flagName(f), segs)
			}
		case f&fSYN != 0 && f&fFIN == 0:
			if len(segs) != 1 || segs[0].flags != fSYN|fACK || segs[0].ack != 1001 {
				t.Errorf("%s: want SYN-ACK, got %+v", flagName(f), segs)
			} else {
				v.inject(tcpFrame(peerIP, seg{sport: port, dport: 80, seq: 1001, flags: fRST}))
			}
		default: // no SYN/ACK/RST, or SYN+FIN: dropped
			if len(segs) != 0 {
				t.Errorf("%s: answered, want silence", flagName(f))
			}
		}
	}
	if n := v.stats().TCP.States[tcp.SynReceived]; n != 0 {
		t.Errorf("%d half-open connections left", n)
	}
	p.alive()
}

// TestFlagsEstablished: all 64 combinations at SEG.SEQ == RCV.NXT with a
// valid ACK on a fresh established connection each time.
func TestFlagsEstablished(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ln := v.listen(80)
	for f := uint8(0); f < 64; f++ {
		p := establish(v, ln, peerIP, 20000+uint16(f), false)
		p.raw(seg{seq: p.sndNxt, ack: p.rcvNxt, flags: f, win: 65535})
		segs := p.absorb(v.sentTCP())
		st := p.conn.State()
		switch {
		case f&fRST != 0:
			// §3.10.7.4 second check: RST exactly at RCV.NXT resets.
			if st != tcp.Closed {
				t.Errorf("%s: exact RST left the connection %v", flagName(f), st)
			}
			if _, err := p.read(1); !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("%s: Read after RST: %v, want ECONNRESET", flagName(f), err)
			}
		case f&fSYN != 0:
			// RFC 5961 §4.2: challenge ACK, connection unchanged.
			if st != tcp.Established {
				t.Errorf("%s: SYN moved the connection to %v", flagName(f), st)
			}
			if len(segs) != 1 || segs[0].flags&(fACK|fRST|fSYN) != fACK || segs[0].ack != p.sndNxt {
				t.Errorf("%s: want one challenge ACK, got %+v", flagName(f), segs)
			}
			p.alive()
		case f&fACK == 0:
			if st != tcp.Established || len(segs) != 0 {
				t.Errorf("%s: segment without ACK not dropped: %v %+v", flagName(f), st, segs)
			}
			p.alive()
		case f&fFIN != 0:
			p.sndNxt++
			if st != tcp.CloseWait {
				t.Errorf("%s: FIN gave %v, want CLOSE_WAIT", flagName(f), st)
			}
		default:
			if st != tcp.Established {
				t.Errorf("%s: connection %v", flagName(f), st)
			}
			p.alive()
		}
		p.conn.Abort()
		v.take()
	}
}

// TestRFC5961RST: in-window RST -> challenge ACK; exact RST resets;
// out-of-window RST ignored (§3.2).
func TestRFC5961RST(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ln := v.listen(80)
	p := establish(v, ln, peerIP, 40000, false)
	for _, off := range []uint32{1, 2, 1000, 30000} {
		p.raw(seg{seq: p.sndNxt + off, flags: fRST})
		segs := p.absorb(v.sentTCP())
		if len(segs) != 1 || segs[0].flags != fACK || segs[0].ack != p.sndNxt {
			t.Errorf("in-window RST +%d: want a challenge ACK, got %+v", off, segs)
		}
		p.raw(seg{seq: p.sndNxt + off, ack: p.rcvNxt, flags: fRST | fACK})
		p.absorb(v.sentTCP())
	}
	for _, off := range []uint32{1 << 20, 1 << 31, 0xffffffff, 0xffff0000} {
		p.raw(seg{seq: p.sndNxt + off, flags: fRST})
		if segs := p.absorb(v.sentTCP()); len(segs) != 0 {
			t.Errorf("out-of-window RST +%d answered: %+v", off, segs)
		}
	}
	p.alive()
	if v.stats().TCP.ResetsRecv != 0 && p.conn.State() != tcp.Established {
		t.Fatal("connection reset by a non-exact RST")
	}
	p.raw(seg{seq: p.sndNxt, flags: fRST})
	if p.conn.State() != tcp.Closed {
		t.Fatalf("exact RST: state %v", p.conn.State())
	}
}

// TestRFC5961SYNAndBadACK: SYN on an established connection gets a
// challenge ACK (§4); an ACK beyond SND.MAX or far below SND.UNA (§5) is
// dropped with an ACK, and its data is not taken.
func TestRFC5961SYNAndBadACK(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	for _, seq := range []uint32{p.sndNxt, p.sndNxt + 100, p.sndNxt - 100, p.sndNxt + 1<<30} {
		p.raw(seg{seq: seq, flags: fSYN, opts: optMSS(100)})
		segs := p.absorb(v.sentTCP())
		if len(segs) != 1 || segs[0].flags != fACK {
			t.Errorf("SYN seq %d: want one challenge ACK, got %+v", seq, segs)
		}
		if p.conn.State() != tcp.Established {
			t.Fatalf("SYN moved connection to %v", p.conn.State())
		}
	}
	p.alive()
	mustWrite(t, p, []byte("0123456789"))
	p.absorb(v.sentTCP())
	una := p.rcvNxt - 10
	for _, ack := range []uint32{p.rcvNxt + 1, p.rcvNxt + 1<<20, una - 1<<20, una - 1<<31} {
		p.raw(seg{seq: p.sndNxt, ack: ack, flags: fACK | fPSH, payload: []byte("EVIL")})
		segs := p.absorb(v.sentTCP())
		if len(segs) == 0 {
			t.Errorf("unacceptable ACK %d (SND.UNA %d): no ACK sent", ack, una)
		}
	}
	p.send(fACK|fPSH, []byte("good"))
	if b, err := p.read(4); err != nil || string(b) != "good" {
		t.Fatalf("after bad ACKs read %q, %v (data of unacceptable segments taken?)", b, err)
	}
	p.alive()
}

// TestRFC5961RSTFlood: 10^4 in-window RSTs in one second: challenge ACKs
// stay within the per-connection limit (ChallengeAckLimit/10 per second)
// and the connection survives.
func TestRFC5961RSTFlood(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	limit := max(v.s.TCP().Config().ChallengeAckLimit/10, 10)
	// Start at a second boundary so the whole burst is one window.
	v.advance(time.Second - time.Duration(v.clk.Now().Nanosecond()))
	acks := 0
	for i := 0; i < 10000; i++ {
		p.raw(seg{seq: p.sndNxt + 1 + uint32(i%1000), flags: fRST})
		if i%100 == 99 {
			v.clk.Advance(5 * time.Millisecond)
		}
		acks += len(p.absorb(v.sentTCP()))
	}
	if acks > limit+1 || acks == 0 {
		t.Errorf("%d challenge ACKs for 10^4 RSTs in ~1s, limit %d", acks, limit)
	}
	if p.conn.State() != tcp.Established {
		t.Fatalf("RST flood: %v", p.conn.State())
	}
	p.alive()
}

// TestPAWS: a segment with an older timestamp is dropped (RFC 7323 §5.3)
// with an ACK; its data is not taken.
func TestPAWS(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, true)
	p.alive()
	before := v.stats().TCP.Drops[tcp.DropPAWS]
	old := p.tsVal - 1000
	p.v.inject(tcpFrame(peerIP, seg{sport: p.port, dport: 80, seq: p.sndNxt, ack: p.rcvNxt, flags: fACK | fPSH, win: 65535,
		opts: optTS(old, p.tsEcr), payload: []byte("OLD!")}))
	segs := p.absorb(v.sentTCP())
	if v.stats().TCP.Drops[tcp.DropPAWS] != before+1 {
		t.Error("old timestamp not dropped by PAWS")
	}
	if len(segs) != 1 || segs[0].flags != fACK || segs[0].ack != p.sndNxt {
		t.Errorf("PAWS drop: want an ACK of RCV.NXT, got %+v", segs)
	}
	// (A RST is exempt from PAWS, RFC 7323 Appendix D, as in Linux: not
	// tested here.)
	p.send(fACK|fPSH, []byte("new!"))
	if b, err := p.read(4); err != nil || string(b) != "new!" {
		t.Fatalf("read %q, %v: PAWS-dropped data taken or connection broken", b, err)
	}
	p.alive()
}

// TestOutOfWindowAckStorm: 10^4 out-of-window and PAWS-failed segments
// (pure ACKs at random sequence numbers, and at RCV.NXT with old
// timestamps) within two seconds make the connection send at most one ACK
// per InvalidAckInterval (500ms; RFC 5961 §10, as Linux's
// tcp_invalid_ratelimit), the rest counted; meanwhile a zero-length
// keepalive probe and a retransmission of old data are still answered,
// and the connection survives.
func TestOutOfWindowAckStorm(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, true)
	p.alive()
	iv := v.s.TCP().Config().InvalidAckInterval
	before := v.stats().TCP.OutOfWindowAcksLimited
	start := v.clk.Now()
	acks := 0
	for i := 0; i < 10000; i++ {
		s := seg{seq: p.sndNxt + 1<<20 + uint32(i)*7919, ack: p.rcvNxt, flags: fACK}
		if i%2 == 1 {
			s = seg{seq: p.sndNxt, ack: p.rcvNxt, flags: fACK, opts: optTS(p.tsVal-1000, p.tsEcr)} // PAWS
		}
		p.raw(s)
		if i%50 == 49 {
			v.clk.Advance(10 * time.Millisecond)
		}
		acks += len(p.absorb(v.sentTCP()))
	}
	elapsed := v.clk.Now().Sub(start)
	if want := int(elapsed/iv) + 1; acks > want || acks == 0 {
		t.Errorf("%d ACKs for 10^4 invalid segments in %v, want 1..%d", acks, elapsed, want)
	}
	if got := v.stats().TCP.OutOfWindowAcksLimited - before; got != uint64(10000-acks) {
		t.Errorf("OutOfWindowAcksLimited +%d, want %d", got, 10000-acks)
	}
	// A keepalive probe (SEG.SEQ = RCV.NXT-1, no data) right after junk.
	p.raw(seg{seq: p.sndNxt + 1<<20, ack: p.rcvNxt, flags: fACK})
	p.absorb(v.sentTCP())
	p.raw(seg{seq: p.sndNxt - 1, ack: p.rcvNxt, flags: fACK, opts: optTS(p.tsVal, p.tsEcr)})
	if segs := p.absorb(v.sentTCP()); len(segs) != 1 || segs[0].flags != fACK || segs[0].ack != p.sndNxt {
		t.Errorf("keepalive probe during the storm: want one ACK, got %+v", segs)
	}
	// A retransmission of data the victim already has.
	p.send(fACK|fPSH, []byte("data"))
	if b, err := p.read(4); err != nil || string(b) != "data" {
		t.Fatalf("read %q, %v", b, err)
	}
	p.absorb(v.sentTCP())
	p.raw(seg{seq: p.sndNxt - 4, ack: p.rcvNxt, flags: fACK | fPSH, opts: optTS(p.tsVal, p.tsEcr), payload: []byte("data")})
	if segs := p.absorb(v.sentTCP()); len(segs) != 1 || segs[0].flags != fACK || segs[0].ack != p.sndNxt {
		t.Errorf("retransmitted data during the storm: want one ACK, got %+v", segs)
	}
	p.alive()
}
