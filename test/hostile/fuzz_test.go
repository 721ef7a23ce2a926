package hostile

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// Whole-input-path fuzzing: real frames, mutated, into a stack with a
// listener, an established connection and a UDP socket.

// fixChecksums recomputes the IPv4 header checksum and, for an unfragmented
// TCP/UDP/ICMP datagram whose lengths hold, the transport checksum, so
// that mutations reach past the checksum checks.
func fixChecksums(f []byte) {
	if len(f) < 34 || binary.BigEndian.Uint16(f[12:]) != ethIPv4 {
		return
	}
	p := f[14:]
	hl := int(p[0]&0xf) * 4
	if hl < 20 || hl > len(p) {
		return
	}
	p[10], p[11] = 0, 0
	binary.BigEndian.PutUint16(p[10:], cksum(sum16(0, p[:hl])))
	tot := int(binary.BigEndian.Uint16(p[2:]))
	if tot < hl || tot > len(p) || binary.BigEndian.Uint16(p[6:])&0x3fff != 0 {
		return
	}
	var src, dst [4]byte
	copy(src[:], p[12:])
	copy(dst[:], p[16:])
	l4 := p[hl:tot]
	switch p[9] {
	case 6:
		if len(l4) >= 20 {
			l4[16], l4[17] = 0, 0
			binary.BigEndian.PutUint16(l4[16:], cksum(sum16(pseudo(src, dst, 6, len(l4)), l4)))
		}
	case 17:
		if len(l4) >= 8 {
			l4[6], l4[7] = 0, 0
			n := min(int(binary.BigEndian.Uint16(l4[4:])), len(l4))
			binary.BigEndian.PutUint16(l4[6:], cksum(sum16(pseudo(src, dst, 17, n), l4[:n])))
		}
	case 1:
		if len(l4) >= 4 {
			l4[2], l4[3] = 0, 0
			binary.BigEndian.PutUint16(l4[2:], cksum(sum16(0, l4)))
		}
	}
}

// fuzzCorpus is real frames of every kind for the victim state of p.
func fuzzCorpus(p *peer) [][]byte {
	var c [][]byte
	for _, f := range validFrames(p) {
		c = append(c, f)
	}
	d := udpWhole(make([]byte, 100))
	q := quoteOf(p, p.rcvNxt)
	c = append(c,
		frag(3, 0, true, d[:48]), frag(3, 48, false, d[48:]),
		icmpFrame(gwIP, victimIP, icmpb(3, 4, 576, q)),
		icmpFrame(gwIP, victimIP, icmpb(3, 3, 0, q)),
		icmpFrame(gwIP, victimIP, icmpb(11, 0, 0, q)),
		p.frame(fACK, nil),
		p.frame(fACK|fFIN, []byte("bye")),
		p.frame(fRST, nil),
		tcpFrame(peerIP, seg{sport: p.port, dport: p.vport, seq: p.sndNxt, ack: p.rcvNxt, flags: fACK, win: 100,
			opts: cat(optTS(1, 2), []byte{1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2})}),
		tcpFrame(peerIP, seg{sport: 1234, dport: 80, seq: 1, flags: fSYN, win: 100, opts: cat(optMSS(0), optWS(14), optSACKOK(), optTS(9, 0))}),
		ipFrame(peerIP, ip(iph{src: peerIP, dst: victimIP, proto: 1, opts: []byte{7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1}}, icmpb(8, 0, 1, []byte("rr")))),
		eth(victimMAC, peerMAC, ethARP, arpb(2, peerMAC, peerIP, victimMAC, victimIP)),
	)
	return c
}

// mutate returns a mutated copy of f.
func mutate(rng *rand.Rand, f []byte) []byte {
	b := append([]byte(nil), f...)
	for n := 1 + rng.IntN(4); n > 0; n-- {
		switch rng.IntN(8) {
		case 0, 1: // bit flip
			if len(b) > 0 {
				b[rng.IntN(len(b))] ^= 1 << rng.IntN(8)
			}
		case 2: // interesting byte
			if len(b) > 0 {
				b[rng.IntN(len(b))] = []byte{0, 1, 0x7f, 0x80, 0xff, 4, 5, 8, 15, 0x40}[rng.IntN(10)]
			}
		case 3: // interesting 16-bit value (lengths, offsets)
			if len(b) > 1 {
				i := rng.IntN(len(b) - 1)
				binary.BigEndian.PutUint16(b[i:], []uint16{0, 1, 7, 8, 19, 20, 0x3fff, 0x7fff, 0xffff, uint16(len(b)), uint16(len(b) - 13)}[rng.IntN(11)])
			}
		case 4: // truncate
			b = b[:rng.IntN(len(b)+1)]
		case 5: // extend
			b = append(b, make([]byte, rng.IntN(64))...)
		case 6: // random byte in the headers
			if len(b) > 14 {
				b[14+rng.IntN(min(len(b)-14, 60))] = byte(rng.Uint32())
			}
		case 7: // splice another region over
			if len(b) > 4 {
				i, j := rng.IntN(len(b)), rng.IntN(len(b))
				copy(b[i:], b[j:min(len(b), j+rng.IntN(8))])
			}
		}
	}
	if rng.IntN(4) != 0 {
		fixChecksums(b)
	}
	return b
}

// oracle is stacktest's fuzz oracle for v, speaking as the peer (10.0.0.2),
// with a listener on port 80 and port 81 closed. v must have been built
// with cfg, which sets the bounds (stacktest.FuzzLimits).
func (v *victim) oracle(cfg stack.Config) *stacktest.Oracle {
	return &stacktest.Oracle{Stack: v.s, Config: cfg, MAC: victimMAC, IP: victimIP, PeerMAC: peerMAC, PeerIP: peerIP,
		Inject: v.inject, Take: v.take, Advance: v.advance, Listeners: []uint16{80}, ClosedPort: 81}
}

// FuzzInput feeds arbitrary frames (each twice) to a victim with a
// listener and an established connection, then lets a second of virtual
// time pass. stacktest.Oracle must hold afterwards: everything the victim
// sent parses and checksums, every bound holds, at most two half-open
// connections came from the two frames, and the victim answers a ping
// and SYNs. `go test` runs the seeds; `go test -fuzz FuzzInput
// ./test/hostile` fuzzes.
func FuzzInput(f *testing.F) {
	cfg := stacktest.FuzzLimits(stack.Config{})
	{
		v := newVictim(f, cfg)
		p := establish(v, v.listen(80), peerIP, 40000, false)
		for _, fr := range fuzzCorpus(p) {
			f.Add(fr)
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		v := newVictim(t, cfg)
		establish(v, v.listen(80), peerIP, 40000, false)
		o := v.oracle(cfg)
		o.Take() // the handshake
		v.inject(frame)
		v.inject(frame)
		v.advance(time.Second)
		if n := v.stats().TCP.States[tcp.SynReceived]; n > 2 {
			t.Fatalf("%d half-open from one frame", n)
		}
		o.Check(t)
	})
}

// TestTortureFuzzFrames mutates real frames 10^6 times (MIRAGO_FUZZ_N
// overrides) into one long-lived victim: no panic; every 100 frames,
// everything the victim sent parses and checksums (stacktest.CheckFrames);
// every 10,000 frames, stacktest.Oracle holds (bounds, and the victim
// answers a ping and SYNs); and the stack still serves a new connection
// at the end.
func TestTortureFuzzFrames(t *testing.T) {
	torture(t)
	n := 1000000
	if s := os.Getenv("MIRAGO_FUZZ_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	cfg := stacktest.FuzzLimits(stack.Config{})
	v := newVictim(t, cfg)
	ln := v.listen(80)
	o := v.oracle(cfg)
	c, err := v.s.UDP().Bind(netip.MustParseAddrPort("0.0.0.0:53"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := uint16(40000)
	p := establish(v, ln, peerIP, port, false)
	corpus := fuzzCorpus(p)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	seed := rng.Uint64()
	rng = rand.New(rand.NewPCG(seed, 7))
	t.Logf("seed %d", seed)
	o.Take()
	for i := 0; i < n; i++ {
		m := mutate(rng, corpus[rng.IntN(len(corpus))])
		noPanic(t, "fuzz frame "+strconv.Itoa(i), m, func() { v.inject(m) })
		if i%100 == 99 {
			v.advance(time.Millisecond)
			if _, err := stacktest.CheckFrames(o.Take(), victimMAC, victimIP); err != nil {
				t.Fatalf("frames %d-%d: %v", i-98, i+1, err)
			}
		}
		if i%10000 == 9999 {
			o.Check(t)
			if p.conn.State() != tcp.Established {
				// A mutated frame can legitimately end the connection
				// (an exact RST, a FIN); open a new one.
				p.conn.Abort()
				o.Take()
				port++
				p = establish(v, ln, peerIP, port, false)
				corpus = fuzzCorpus(p)
			}
		}
	}
	o.Take()
	q := establish(v, ln, peerIP, 60000, true)
	q.alive()
	t.Logf("after %d frames: %+v", n, v.stats())
}
