package hostile

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// Case 2: options (Ripple20 / AMNESIA:33 class: option lengths trusted,
// zero-length options looping forever, MSS 0 dividing by zero).

// TestOptionsEveryKindBadLength sends every TCP option kind with length
// 0, 1 and one past the end, on a SYN to the listener and on a segment
// of the established connection. Nothing may panic or loop, half-open
// state stays bounded and the connection keeps working.
func TestOptionsEveryKindBadLength(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ln := v.listen(80)
	p := establish(v, ln, peerIP, 40000, false)
	port := uint16(20000)
	for kind := 0; kind < 256; kind++ {
		for _, l := range []int{0, 1, 2, 3, 40, 255} {
			var o []byte
			switch l {
			case 40, 255: // overflows the 40-byte option space
				o = []byte{byte(kind), byte(l), 0xff, 0xff}
			default:
				o = []byte{byte(kind), byte(l)}
			}
			port++
			syn := tcpFrame(peerIP, seg{sport: port, dport: 80, seq: 7, flags: fSYN, win: 512, opts: o})
			noPanic(t, "SYN option", syn, func() { v.inject(syn) })
			for _, s := range v.sentTCP() {
				if s.flags&fSYN != 0 {
					// Clean the half-open connection up with an exact RST.
					v.inject(tcpFrame(peerIP, seg{sport: port, dport: 80, seq: 8, flags: fRST}))
				}
			}
			ack := tcpFrame(peerIP, seg{sport: p.port, dport: 80, seq: p.sndNxt, ack: p.rcvNxt, flags: fACK, win: 65535, opts: o})
			noPanic(t, "ACK option", ack, func() { v.inject(ack) })
			p.absorb(v.sentTCP())
		}
	}
	st := v.stats()
	if st.TCP.States[tcp.SynReceived] != 0 {
		t.Errorf("%d half-open connections left", st.TCP.States[tcp.SynReceived])
	}
	p.alive()
}

// TestOptionsMSSZero: a peer announcing MSS 0 (or 1) must get segments of
// the floor size (tcp.MSSFloor), not zero-byte segments in a loop.
func TestOptionsMSSZero(t *testing.T) {
	for _, mss := range []uint16{0, 1, 40} {
		v := newVictim(t, stack.Config{})
		p := establishOpts(v, v.listen(80), peerIP, 40000, optMSS(mss), false)
		data := make([]byte, 4000)
		for i := range data {
			data[i] = byte(i)
		}
		if _, err := p.conn.Write(data); err != nil {
			t.Fatal(err)
		}
		segs := 0
		for i := 0; i < 200 && len(p.got) < len(data); i++ {
			for _, s := range p.absorb(v.sentTCP()) {
				if len(s.payload) > 0 {
					segs++
					if len(s.payload) > tcp.MSSFloor {
						t.Fatalf("MSS %d: %d-byte segment, want <= %d", mss, len(s.payload), tcp.MSSFloor)
					}
				}
			}
			p.send(fACK, nil)
			v.advance(50 * time.Millisecond)
		}
		if string(p.got) != string(data) {
			t.Fatalf("MSS %d: got %d of %d bytes", mss, len(p.got), len(data))
		}
		if want := (len(data) + tcp.MSSFloor - 1) / tcp.MSSFloor; segs > 2*want {
			t.Errorf("MSS %d: %d segments for %d bytes (floor %d)", mss, segs, len(data), tcp.MSSFloor)
		}
		p.alive()
	}
}

// TestOptionsWindowScaleOver14: a shift above 14 is treated as 14 (RFC
// 7323 §2.3): with a window field of 1 the peer's window is 16 KiB, and
// the victim never has more than that in flight.
func TestOptionsWindowScaleOver14(t *testing.T) {
	for _, ws := range []uint8{15, 31, 255} {
		v := newVictim(t, stack.Config{})
		p := establishOpts(v, v.listen(80), peerIP, 40000, cat(optMSS(1460), optWS(ws)), false)
		if _, ows, _, _, _ := parseTCPOpts(p.synack.opts); ows > 14 {
			t.Errorf("victim offered window scale %d", ows)
		}
		data := make([]byte, 200000)
		mustWrite(t, p, data)
		acked := p.rcvNxt
		maxFlight := uint32(0)
		for i := 0; i < 400 && len(p.got) < len(data); i++ {
			p.absorb(v.sentTCP())
			if f := p.rcvNxt - acked; f > maxFlight {
				maxFlight = f
			}
			acked = p.rcvNxt
			p.raw(seg{seq: p.sndNxt, ack: p.rcvNxt, flags: fACK, win: 1})
			v.advance(10 * time.Millisecond)
		}
		if maxFlight > 1<<14 {
			t.Errorf("ws %d: %d bytes in flight, window is 16384", ws, maxFlight)
		}
		if len(p.got) < 100000 {
			t.Errorf("ws %d: only %d bytes moved", ws, len(p.got))
		}
	}
}

// TestOptionsMalformedSACK sends SACK blocks that are empty, odd-sized,
// reversed, beyond what was sent, wrapped, and too many; the connection
// must keep delivering the right bytes.
func TestOptionsMalformedSACK(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establishOpts(v, v.listen(80), peerIP, 40000, cat(optMSS(1460), optSACKOK()), false)
	data := make([]byte, 30000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	mustWrite(t, p, data)
	v.advance(time.Millisecond)
	segs := v.sentTCP()
	if len(segs) == 0 {
		t.Fatal("no data sent")
	}
	base := p.rcvNxt
	blk := func(l, r uint32) []byte {
		b := make([]byte, 8)
		binary.BigEndian.PutUint32(b, l)
		binary.BigEndian.PutUint32(b[4:], r)
		return b
	}
	sack := func(blocks ...[]byte) []byte {
		b := cat(blocks...)
		return cat([]byte{1, 1, 5, byte(2 + len(b))}, b)
	}
	bad := [][]byte{
		{1, 1, 5, 2},
		{1, 1, 5, 3, 0},
		{1, 1, 5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0},
		{1, 1, 5, 0},
		{1, 1, 5, 1},
		{1, 1, 5, 40},
		sack(blk(base+2000, base+1000)),
		sack(blk(base+1000, base+1000)),
		sack(blk(base+1<<30, base+1<<30+100)),
		sack(blk(base-100000, base-50000)),
		sack(blk(base+0xffff0000, base+0x10000)),
		sack(blk(base, base+1<<31)),
		sack(blk(base+1000, base+2000), blk(base+3000, base+4000), blk(base+5000, base+6000), blk(base+7000, base+8000)),
		cat([]byte{5, 34}, make([]byte, 32), []byte{0, 0}),
	}
	for i, o := range bad {
		for dup := 0; dup < 4; dup++ { // as duplicate ACKs, to enter recovery
			f := tcpFrame(peerIP, seg{sport: p.port, dport: 80, seq: p.sndNxt, ack: base, flags: fACK, win: 65535, opts: o})
			noPanic(t, "SACK "+itoa(i), f, func() { v.inject(f) })
		}
	}
	p.got = nil
	p.rcvNxt = base
	p.absorb(segs)
	for i := 0; i < 400 && len(p.got) < len(data); i++ {
		p.absorb(v.sentTCP())
		p.send(fACK, nil)
		v.advance(50 * time.Millisecond)
	}
	if string(p.got) != string(data) {
		t.Fatalf("stream corrupted or stalled after malformed SACK: %d of %d bytes", len(p.got), len(data))
	}
	p.alive()
}

// TestOptionsTimestampsNotNegotiated: timestamps on segments of a
// connection that did not negotiate them are ignored, and the victim
// never sends one there (RFC 7323 §3.2).
func TestOptionsTimestampsNotNegotiated(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	for i, val := range []uint32{0, 1, 0x80000000, 0xffffffff} {
		p.v.inject(tcpFrame(peerIP, seg{sport: p.port, dport: 80, seq: p.sndNxt, ack: p.rcvNxt, flags: fACK | fPSH, win: 65535,
			opts: optTS(val, 12345), payload: []byte{byte('a' + i)}}))
		p.sndNxt++
	}
	if b, err := p.read(4); err != nil || string(b) != "abcd" {
		t.Fatalf("data with stray timestamps: %q, %v", b, err)
	}
	p.alive()
	for _, s := range v.sentTCP() {
		if _, _, ts, _, _ := parseTCPOpts(s.opts); ts {
			t.Fatal("victim sent a timestamp on a connection without them")
		}
	}
}

// TestOptionsIP: IP options with bad lengths are dropped, source routes
// are dropped (RFC 1122 §3.2.1.8 allows it; we never act on them), record
// route is accepted.
func TestOptionsIP(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	echo := icmpb(8, 0, 0x42420001, []byte("opt"))
	type tc struct {
		name  string
		opts  []byte
		reply bool
	}
	rr := []byte{7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1} // record route, room for 2
	cases := []tc{
		{"record route", rr, true},
		{"nop eol", []byte{1, 1, 1, 0}, true},
		{"len 0", []byte{7, 0, 0, 0}, false},
		{"len 1", []byte{7, 1, 0, 0}, false},
		{"len overflow", []byte{7, 40, 4, 0}, false},
		{"len 2 rr", []byte{7, 2, 1, 1}, true},
		{"rr pointer < 4", []byte{7, 7, 1, 0, 0, 0, 0, 1}, false},
		{"rr pointer huge", []byte{7, 7, 200, 0, 0, 0, 0, 1}, false},
		{"lsrr", []byte{131, 7, 4, 10, 0, 0, 9, 1}, false},
		{"ssrr", []byte{137, 7, 4, 10, 0, 0, 9, 1}, false},
		{"lsrr len 3", []byte{131, 3, 4, 1}, false},
		{"timestamp", []byte{68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true},
		{"timestamp bad", []byte{68, 4, 200, 0x3f}, false},
		{"unknown kind", []byte{0x99, 4, 0, 0}, true},
		{"40 bytes of nop", append(make([]byte, 0), repeat(1, 40)...), true},
	}
	for _, c := range cases {
		f := ipFrame(peerIP, ip(iph{src: peerIP, dst: victimIP, proto: 1, opts: c.opts}, echo))
		noPanic(t, c.name, f, func() { v.inject(f) })
		replied := false
		for _, o := range v.sent() {
			if o.icmp != nil && o.icmp.typ == 0 {
				replied = true
				if string(o.icmp.body) != "opt" {
					t.Errorf("%s: reply body %q", c.name, o.icmp.body)
				}
			}
		}
		if replied != c.reply && !(c.name == "len 2 rr" || c.name == "unknown kind" || c.name == "timestamp bad" || c.name == "rr pointer < 4" || c.name == "rr pointer huge") {
			t.Errorf("%s: replied=%v, want %v", c.name, replied, c.reply)
		}
	}
	if st := v.stats(); st.IP.DropSourceRoute < 3 {
		t.Errorf("source routes not counted: %d", st.IP.DropSourceRoute)
	}
	p.alive()
}

func repeat(b byte, n int) []byte {
	r := make([]byte, n)
	for i := range r {
		r[i] = b
	}
	return r
}
