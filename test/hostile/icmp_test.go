package hostile

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/tcp"
)

// Case 5: ICMP (INFRA:HALT / Ripple20 class: short messages, quoted
// headers trusted, forged errors resetting connections).

// quoteOf builds the IP header + first 8 bytes of a segment of p's
// connection as the victim would have sent it (victim -> peer), with
// sequence number seq.
func quoteOf(p *peer, seq uint32) []byte {
	s := tcpb(victimIP, p.ip, seg{sport: p.vport, dport: p.port, seq: seq, ack: p.sndNxt, flags: fACK, win: 1000})
	return ip(iph{src: victimIP, dst: p.ip, proto: 6, df: true, totLen: 1500}, s)[:28]
}

func TestICMPShortAndTruncatedQuotes(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	// Messages of 0-7 bytes, with a correct checksum where there is room.
	for n := 0; n < 8; n++ {
		for _, typ := range []uint8{0, 3, 4, 5, 8, 11, 12, 13, 17} {
			m := make([]byte, n)
			if n > 0 {
				m[0] = typ
			}
			if n >= 4 {
				binary.BigEndian.PutUint16(m[2:], cksum(sum16(0, m)))
			}
			f := icmpFrame(peerIP, victimIP, m)
			noPanic(t, "short icmp", f, func() { v.inject(f) })
		}
	}
	expectSilent(t, v, "short ICMP")
	// Errors quoting 0..27 bytes of a header of our connection, and quoted
	// headers whose own lengths lie.
	q := quoteOf(p, p.rcvNxt)
	for typ, codes := range map[uint8][]uint8{3: {0, 1, 2, 3, 4, 13}, 4: {0}, 11: {0, 1}, 12: {0}} {
		for _, code := range codes {
			for n := 0; n <= len(q); n++ {
				f := icmpFrame(peerIP, victimIP, icmpb(typ, code, 0, q[:n]))
				noPanic(t, "truncated quote", f, func() { v.inject(f) })
			}
			for _, mod := range []func([]byte){
				func(b []byte) { b[0] = 0x4f },       // IHL 15, beyond the quote
				func(b []byte) { b[0] = 0x43 },       // IHL 3
				func(b []byte) { b[2], b[3] = 0, 0 }, // total length 0
				func(b []byte) { b[0] = 0x65 },       // version 6
				func(b []byte) { b[9] = 17 },         // claims UDP
			} {
				b := append([]byte(nil), q...)
				mod(b)
				f := icmpFrame(peerIP, victimIP, icmpb(typ, code, 0, b[:20+4]))
				noPanic(t, "bad quote", f, func() { v.inject(f) })
			}
		}
	}
	v.take()
	p.alive()
}

// TestICMPFragNeededTinyMTU: frag-needed with MTU 0 or 68 (or below 68)
// about our connection must not make TCP send empty segments or stop.
func TestICMPFragNeededTinyMTU(t *testing.T) {
	for _, mtu := range []uint32{0, 1, 20, 40, 67, 68} {
		v := newVictim(t, stack.Config{})
		p := establish(v, v.listen(80), peerIP, 40000, false)
		data := make([]byte, 6000)
		for i := range data {
			data[i] = byte(i * 3)
		}
		mustWrite(t, p, data)
		// Quote the first unacknowledged segment (as a router would).
		v.inject(icmpFrame(gwIP, victimIP, icmpb(3, 4, mtu&0xffff, quoteOf(p, p.rcvNxt))))
		for i := 0; i < 400 && len(p.got) < len(data); i++ {
			for _, s := range p.absorb(v.sentTCP()) {
				if len(s.payload) > 1460 {
					t.Fatalf("MTU %d: %d-byte segment", mtu, len(s.payload))
				}
			}
			p.send(fACK, nil)
			v.advance(50 * time.Millisecond)
		}
		if string(p.got) != string(data) {
			t.Fatalf("MTU %d: %d of %d bytes delivered", mtu, len(p.got), len(data))
		}
		p.alive()
	}
}

// TestICMPEchoBroadcast: no reply to echo requests sent to a broadcast
// address (RFC 1122 §3.2.2.6), link-layer or IP.
func TestICMPEchoBroadcast(t *testing.T) {
	v := newVictim(t, stack.Config{})
	echo := icmpb(8, 0, 1, []byte("smurf"))
	for _, dst := range []inet.Addr4{bcastIP, {255, 255, 255, 255}, {224, 0, 0, 1}} {
		v.inject(eth(victimMAC, peerMAC, ethIPv4, ip(iph{src: peerIP, dst: dst, proto: 1}, echo)))
		v.inject(eth([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, peerMAC, ethIPv4, ip(iph{src: peerIP, dst: dst, proto: 1}, echo)))
	}
	// Unicast IP in a link-layer broadcast frame is a broadcast too.
	v.inject(eth([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, peerMAC, ethIPv4, ip(iph{src: peerIP, dst: victimIP, proto: 1}, echo)))
	expectSilent(t, v, "echo to broadcast")
	// A unicast echo is answered (the test can fail).
	v.inject(icmpFrame(peerIP, victimIP, echo))
	if n := len(v.sent()); n != 1 {
		t.Fatalf("unicast echo: %d frames, want 1 reply", n)
	}
}

// TestICMPForgedErrors: ICMP errors quoting sequence numbers outside
// SND.UNA..SND.NXT are ignored (RFC 5927 §4.1), hard or soft; in-window
// soft errors do not reset an established connection (RFC 1122 §4.2.3.9).
func TestICMPForgedErrors(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	mustWrite(t, p, []byte("outstanding"))
	base := p.rcvNxt // SND.UNA of the victim
	for _, seq := range []uint32{base - 1, base - 100000, base + 12, base + 1<<31, base + 100000} {
		for _, tc := range [][2]uint8{{3, 0}, {3, 1}, {3, 2}, {3, 3}, {3, 4}, {3, 13}, {11, 0}, {12, 0}, {4, 0}} {
			rest := uint32(0)
			if tc[1] == 4 {
				rest = 296
			}
			f := icmpFrame(gwIP, victimIP, icmpb(tc[0], tc[1], rest, quoteOf(p, seq)))
			noPanic(t, "forged", f, func() { v.inject(f) })
			if st := p.conn.State(); st != tcp.Established {
				t.Fatalf("ICMP %d/%d with seq %d (SND.UNA %d) moved the connection to %v", tc[0], tc[1], seq, base, st)
			}
		}
	}
	// In-window soft errors: still established.
	for _, code := range []uint8{0, 1} {
		v.inject(icmpFrame(gwIP, victimIP, icmpb(3, code, 0, quoteOf(p, base))))
	}
	if st := p.conn.State(); st != tcp.Established {
		t.Fatalf("soft error reset the connection: %v", st)
	}
	// An error about another host's connection (quoted source not ours).
	q := quoteOf(p, base)
	copy(q[12:16], []byte{10, 0, 0, 77})
	binary.BigEndian.PutUint16(q[10:], 0)
	v.inject(icmpFrame(gwIP, victimIP, icmpb(3, 3, 0, q)))
	p.absorb(v.sentTCP())
	if string(p.got) != "outstanding" {
		p.send(fACK, nil)
		v.advance(2 * time.Second)
		p.absorb(v.sentTCP())
	}
	p.alive()
}
