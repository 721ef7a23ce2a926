package hostile

import (
	"testing"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// Case 3: the urgent pointer (AMNESIA:33's uIP/picoTCP bugs: an urgent
// pointer past the segment skipped or over-read data). URG is ignored
// and the data stays inline (RFC 6093), so the stream must be intact.
func TestUrgentPointer(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ln := v.listen(80)
	p := establish(v, ln, peerIP, 40000, false)
	var want []byte
	for i, urp := range []uint16{0, 1, 5, 6, 7, 1000, 0xffff} {
		payload := []byte("URGENT" + itoa(i))[:6]
		for _, flags := range []uint8{fACK | fURG, fACK | fURG | fPSH} {
			f := tcpFrame(peerIP, seg{sport: p.port, dport: 80, seq: p.sndNxt, ack: p.rcvNxt, flags: flags, win: 65535, urp: urp, payload: payload})
			noPanic(t, "urg", f, func() { v.inject(f) })
			p.sndNxt += uint32(len(payload))
			want = append(want, payload...)
		}
		// URG with no data at all.
		f := tcpFrame(peerIP, seg{sport: p.port, dport: 80, seq: p.sndNxt, ack: p.rcvNxt, flags: fACK | fURG, win: 65535, urp: urp})
		noPanic(t, "urg empty", f, func() { v.inject(f) })
	}
	got, err := p.read(len(want))
	if err != nil || string(got) != string(want) {
		t.Fatalf("stream with urgent data: %q, %v; want %q", got, err, want)
	}
	p.alive()

	// URG (and a pointer) on a SYN: the handshake and stream are normal.
	v.inject(tcpFrame(peerIP, seg{sport: 40001, dport: 80, seq: 500, flags: fSYN | fURG, urp: 0xffff, win: 65535, opts: optMSS(1460)}))
	var synack *outSeg
	for _, s := range v.sentTCP() {
		if s.dport == 40001 && s.flags == fSYN|fACK {
			synack = s
		}
	}
	if synack == nil {
		t.Fatal("SYN with URG not answered")
	}
	q := &peer{v: v, ip: peerIP, port: 40001, vport: 80, sndNxt: 501, rcvNxt: synack.seq + 1}
	q.raw(seg{seq: 501, ack: q.rcvNxt, flags: fACK | fURG, urp: 3, payload: []byte("abc")})
	q.sndNxt += 3
	c, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	q.conn = c
	if b, err := q.read(3); err != nil || string(b) != "abc" {
		t.Fatalf("after URG SYN: %q, %v", b, err)
	}
	q.alive()
	if c.State() != tcp.Established {
		t.Fatal(c.State())
	}
	p.alive()
}
