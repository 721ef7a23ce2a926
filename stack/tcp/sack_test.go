package tcp

import (
	"testing"
	"time"
)

var sackSyn = []byte{2, 4, 5, 180, 4, 2}

func TestSACKReceiver(t *testing.T) {
	p := newPeer(t, Config{})
	_, iss := p.open(sackSyn)
	base := uint32(peerISN + 1)
	send := func(off, n int) {
		p.send(seg{sport: 5000, dport: 80, seq: base + uint32(off), ack: iss + 1, flags: FlagACK, wnd: 1000, data: make([]byte, n)})
	}
	send(100, 100) // hole 0..100
	h := p.expect(FlagACK, nil, u32(base))
	o, _ := ParseOptions(h.Options())
	if o.NumSACK != 1 || o.SACK[0] != (span{base + 100, base + 200}) {
		t.Fatalf("SACK %+v", o)
	}
	send(300, 100)
	h = p.expect(FlagACK, nil, u32(base))
	o, _ = ParseOptions(h.Options())
	// Most recent block first (RFC 2018 §4).
	if o.NumSACK != 2 || o.SACK[0] != (span{base + 300, base + 400}) || o.SACK[1] != (span{base + 100, base + 200}) {
		t.Fatalf("SACK %+v", o.SACK[:o.NumSACK])
	}
	send(0, 100)
	h = p.expect(FlagACK, nil, u32(base+200))
	o, _ = ParseOptions(h.Options())
	if o.NumSACK != 1 || o.SACK[0] != (span{base + 300, base + 400}) {
		t.Fatalf("SACK %+v", o.SACK[:o.NumSACK])
	}
}

func TestSACKSender(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(sackSyn)
	una := iss + 1
	p.write(c, make([]byte, 10*1460))
	for i := 0; i < 10; i++ {
		h := p.next()
		if h.Seq() != una+uint32(i*1460) {
			t.Fatalf("segment %d: %s", i, describe(h))
		}
	}
	p.none()
	// Segments 0 and 2 are lost: the peer SACKs 1 and 3..9.
	sack := func(blocks ...span) []byte {
		b := []byte{1, 1, 5, byte(2 + 8*len(blocks))}
		for _, s := range blocks {
			b = append(b, byte(s.start>>24), byte(s.start>>16), byte(s.start>>8), byte(s.start),
				byte(s.end>>24), byte(s.end>>16), byte(s.end>>8), byte(s.end))
		}
		return b
	}
	seg1 := span{una + 1460, una + 2920}
	for k := 3; k <= 5; k++ {
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: una, flags: FlagACK, wnd: 65535,
			opts: sack(span{una + 3*1460, una + uint32(k+1)*1460}, seg1)})
	}
	// RFC 6675: the holes (segments 0 and 2) are resent, not the rest.
	got := map[uint32]bool{}
	for {
		select {
		case b := <-p.out:
			h, _ := ParseHeader(b)
			if len(h.Payload()) > 0 {
				got[h.Seq()] = true
			}
			continue
		default:
		}
		break
	}
	if !got[una] || !got[una+2*1460] || len(got) != 2 {
		t.Fatalf("retransmitted %v, want exactly %d and %d", got, una, una+2*1460)
	}
	if st := p.e.l.lockedStats(); st.FastRetransmits != 1 {
		t.Fatalf("fast retransmits %d", st.FastRetransmits)
	}
}

func TestNagle(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	p.write(c, []byte("a"))
	p.expect(FlagACK|FlagPSH, u32(iss+1), nil)
	p.write(c, []byte("b"))
	p.write(c, []byte("c"))
	p.none() // Nagle: a small segment is outstanding
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 2, flags: FlagACK, wnd: 1000})
	h := p.expect(FlagACK|FlagPSH, u32(iss+2), nil)
	if string(h.Payload()) != "bc" {
		t.Fatalf("coalesced %q", h.Payload())
	}
	c.SetNoDelay(true)
	p.write(c, []byte("d"))
	h = p.expect(FlagACK|FlagPSH, u32(iss+4), nil)
	if string(h.Payload()) != "d" {
		t.Fatalf("nodelay %q", h.Payload())
	}
}

func TestSWSOverride(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	// The peer offered 65535; now it offers 100 bytes: less than half the
	// max window and less than an MSS, so the sender waits, then the
	// override timer sends what fits.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 100})
	p.write(c, make([]byte, 1000))
	p.none()
	h, _ := p.waitSegment(10e9)
	if h.Seq() != iss+1 || len(h.Payload()) != 100 {
		t.Fatalf("override sent %s", describe(h))
	}
}

// TestEifelUndo: a fast retransmit whose original turns out to have
// arrived (the ACK echoes the original's TSval) is undone (RFC 3522/4015).
func TestEifelUndo(t *testing.T) {
	p := newPeer(t, Config{})
	syn := append([]byte{2, 4, 5, 180, 4, 2}, tsBytes(1000, 0)...)
	c, iss := p.open(syn)
	una := iss + 1
	p.write(c, make([]byte, 8*1448))
	var firstTS uint32
	for i := 0; i < 8; i++ {
		h := p.next()
		if i == 0 {
			o, _ := ParseOptions(h.Options())
			firstTS = o.TSVal
		}
	}
	p.e.mu.Lock()
	before := c.cc.cwnd
	p.e.mu.Unlock()
	p.advance(5 * time.Millisecond) // the retransmission gets a later TSval
	sackOpt := func(start, end uint32) []byte {
		b := append(tsBytes(1002, firstTS), 1, 1, 5, 10)
		return append(b, byte(start>>24), byte(start>>16), byte(start>>8), byte(start), byte(end>>24), byte(end>>16), byte(end>>8), byte(end))
	}
	for k := 2; k <= 4; k++ {
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: una, flags: FlagACK, wnd: 65535, opts: sackOpt(una+1448, una+uint32(k)*1448)})
	}
	if st := p.e.l.lockedStats(); st.FastRetransmits != 1 {
		t.Fatalf("fast retransmits %d", st.FastRetransmits)
	}
	p.e.mu.Lock()
	reduced := c.cc.cwnd
	p.e.mu.Unlock()
	if reduced >= before {
		t.Fatalf("cwnd not reduced: %d -> %d", before, reduced)
	}
	// The original segment 0 arrives late: the cumulative ACK echoes its TSval.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: una + 4*1448, flags: FlagACK, wnd: 65535, opts: tsBytes(1003, firstTS)})
	p.e.mu.Lock()
	after := c.cc.cwnd
	p.e.mu.Unlock()
	if p.e.l.lockedStats().SpuriousRetransmits != 1 || after < before {
		t.Fatalf("not undone: spurious=%d cwnd %d -> %d -> %d", p.e.l.lockedStats().SpuriousRetransmits, before, reduced, after)
	}
}
