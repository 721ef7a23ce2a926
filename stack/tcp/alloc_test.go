package tcp

import (
	"encoding/binary"
	"testing"

	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

// discardIP swallows segments (after touching the payload, as a driver
// would).
type discardIP struct{ n int }

func (d *discardIP) Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	d.n += b.Len()
	return nil
}
func (d *discardIP) Headroom() int                       { return 34 }
func (d *discardIP) Offloads() netif.Offloads            { return netif.Offloads{} }
func (d *discardIP) MTU(inet.Addr) int                   { return 1500 }
func (d *discardIP) PortUnreachable(*transport.Packet)   {}
func (d *discardIP) Source(inet.Addr) (inet.Addr, error) { return addrA, nil }

// segBuf builds a segment into b in place (no allocation).
func segBuf(b []byte, s seg) []byte {
	n := HeaderLen + len(s.opts) + len(s.data)
	b = b[:n]
	f := Fields{SrcPort: s.sport, DstPort: s.dport, Seq: s.seq, Ack: s.ack, Flags: s.flags, Window: s.wnd}
	f.Options = s.opts
	f.Encode(b)
	copy(b[HeaderLen+len(s.opts):], s.data)
	cs := checksum.Checksum(b, checksum.Pseudo(addrB, addrA, inet.ProtoTCP, n))
	binary.BigEndian.PutUint16(b[16:], cs)
	return b
}

func TestAllocsSteadyState(t *testing.T) {
	require.NoRace(t, "sync.Pool drops items at random")
	forFamilies(t, testAllocsSteadyState)
}

func testAllocsSteadyState(t *testing.T) {
	for _, mode := range []struct{ ts, sack bool }{{false, false}, {true, false}, {true, true}} {
		ts := mode.ts
		var synOpts []byte
		if ts {
			synOpts = append([]byte{2, 4, 5, 180}, tsBytes(1000, 0)...)
		}
		if mode.sack { // and so the tail loss probe timer
			synOpts = append(synOpts, 4, 2)
		}
		p := newPeer(t, Config{})
		c, iss := p.open(synOpts)
		if (c.f&fSACK != 0) != mode.sack {
			t.Fatalf("%+v: SACK negotiated %v", mode, c.f&fSACK != 0)
		}
		p.drain()
		p.e.l.ip = &discardIP{}
		l := p.e.l
		payload := make([]byte, 1448)
		var in [2048]byte
		var opts []byte
		if ts {
			opts = tsBytes(1001, 0)
		}
		peerSeq := uint32(peerISN + 1)
		ourSeq := iss + 1
		rbuf := make([]byte, 4096)
		// Warm up, then measure: one segment out and its ACK in.
		send := func() {
			p.e.mu.Lock()
			c.f |= fNoDelay
			c.tryWrite(payload)
			ourSeq += uint32(len(payload))
			b := segBuf(in[:], seg{sport: 5000, dport: 80, seq: peerSeq, ack: ourSeq, flags: FlagACK, wnd: 65535, opts: opts})
			l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: b})
			p.e.mu.Unlock()
		}
		recv := func() {
			p.e.mu.Lock()
			b := segBuf(in[:], seg{sport: 5000, dport: 80, seq: peerSeq, ack: ourSeq, flags: FlagACK | FlagPSH, wnd: 65535, opts: opts, data: payload})
			l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: b})
			peerSeq += uint32(len(payload))
			c.tryRead(rbuf)
			p.e.mu.Unlock()
		}
		for i := 0; i < 100; i++ {
			send()
			recv()
		}
		if a := testing.AllocsPerRun(1000, send); a != 0 {
			t.Errorf("%+v: send+ACK allocates %v per segment", mode, a)
		}
		if a := testing.AllocsPerRun(1000, recv); a != 0 {
			t.Errorf("%+v: receive+Read allocates %v per segment", mode, a)
		}
		if p.e.l.lockedStats().TailLossProbes != 0 {
			t.Errorf("%+v: loss probes sent", mode)
		}
		p.e.mu.Lock()
		if c.state != Established || c.sndUna != ourSeq || c.rcvNxt != peerSeq {
			t.Fatalf("connection state off: %s", c.debugString())
		}
		p.e.mu.Unlock()
	}
}

// TestAllocsTSO: a TSO segment out, with its checksum left to the device,
// and a large segment in, taken as verified, allocate nothing either.
func TestAllocsTSO(t *testing.T) {
	require.NoRace(t, "sync.Pool drops items at random")
	forFamilies(t, testAllocsTSO)
}

func testAllocsTSO(t *testing.T) {
	synOpts := append([]byte{2, 4, 5, 180}, tsBytes(1000, 0)...)
	synOpts = append(synOpts, 4, 2)
	p := newPeer(t, Config{})
	c, iss := p.open(synOpts)
	p.drain()
	d := &discardIP{}
	p.e.l.ip = d
	l := p.e.l
	l.off = offloads
	payload := make([]byte, 60000)
	in := make([]byte, 40000)
	opts := tsBytes(1001, 0)
	peerSeq := uint32(peerISN + 1)
	ourSeq := iss + 1
	rbuf := make([]byte, 64<<10)
	send := func() {
		p.e.mu.Lock()
		c.f |= fNoDelay
		c.cc.cwnd = 1 << 20
		c.tryWrite(payload)
		ourSeq += uint32(len(payload))
		b := segBuf(in, seg{sport: 5000, dport: 80, seq: peerSeq, ack: ourSeq, flags: FlagACK, wnd: 65535, opts: opts})
		l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: b, CsumVerified: true})
		p.e.mu.Unlock()
	}
	recv := func() {
		p.e.mu.Lock()
		b := segBuf(in, seg{sport: 5000, dport: 80, seq: peerSeq, ack: ourSeq, flags: FlagACK | FlagPSH, wnd: 65535, opts: opts, data: in[:30000]})
		l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: b, CsumVerified: true})
		peerSeq += 30000
		c.tryRead(rbuf)
		p.e.mu.Unlock()
	}
	for i := 0; i < 100; i++ {
		send()
		recv()
	}
	if a := testing.AllocsPerRun(1000, send); a != 0 {
		t.Errorf("TSO send+ACK allocates %v per segment", a)
	}
	if a := testing.AllocsPerRun(1000, recv); a != 0 {
		t.Errorf("large receive+Read allocates %v per segment", a)
	}
	st := l.StatsLocked()
	if st.LargeSegmentsOut == 0 || st.LargeSegmentsIn == 0 {
		t.Fatalf("TSO unused: %d large out, %d large in", st.LargeSegmentsOut, st.LargeSegmentsIn)
	}
	if v6 := st.IPv6.LargeSegmentsOut != 0; v6 != addrA.Is6() {
		t.Fatalf("TSO segments counted as IPv6: %v", v6)
	}
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	if c.state != Established || c.sndUna != ourSeq || c.rcvNxt != peerSeq {
		t.Fatalf("connection state off: %s", c.debugString())
	}
}
