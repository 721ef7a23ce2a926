package tcp

import (
	"bytes"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

func TestHeaderGolden(t *testing.T) {
	// SYN 1234->80 seq=1 win=65535, MSS 1460 (checksum left zero).
	golden := []byte{0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 5, 180}
	b := make([]byte, 24)
	f := Fields{SrcPort: 1234, DstPort: 80, Seq: 1, Flags: FlagSYN, Window: 65535, Options: []byte{2, 4, 5, 180}}
	if n, err := f.Encode(b); n != 24 || err != nil || f.Len() != 24 || !bytes.Equal(b, golden) {
		t.Fatalf("Encode = % x (%d, %v)", b, n, err)
	}
	if _, err := f.Encode(b[:23]); err != inet.ErrBufTooSmall {
		t.Fatalf("short buffer: %v", err)
	}
	if _, err := (&Fields{Options: []byte{1}}).Encode(b); err != ErrBadOffset {
		t.Fatalf("unaligned options: %v", err)
	}
	h, err := ParseHeader(golden)
	if g := h.Fields(); g.SrcPort != 1234 || g.DstPort != 80 || g.Seq != 1 || g.Flags != FlagSYN || g.Window != 65535 || !bytes.Equal(g.Options, f.Options) {
		t.Fatalf("Fields() = %+v", g)
	}
	if err != nil || h.SrcPort() != 1234 || h.DstPort() != 80 || h.Seq() != 1 || h.Flags() != FlagSYN || h.Window() != 65535 || h.DataOffset() != 24 || len(h.Payload()) != 0 {
		t.Fatalf("ParseHeader: %v %v", h, err)
	}
	o, _ := ParseOptions(h.Options())
	if !o.HasMSS || o.MSS != 1460 {
		t.Fatalf("options %+v", o)
	}
	for _, bad := range [][]byte{golden[:19], append([]byte(nil), golden[:20]...)} {
		if len(bad) == 20 {
			bad[12] = 0x70 // offset 28 > length
		}
		if _, err := ParseHeader(bad); err == nil {
			t.Fatalf("ParseHeader accepted % x", bad)
		}
	}
}

func TestOptionsParse(t *testing.T) {
	o, err := ParseOptions([]byte{1, 3, 3, 20, 4, 2, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6, 0, 2, 4})
	if !o.HasWS || o.WScale != 14 {
		t.Fatalf("shift 20 must be treated as 14: %+v", o)
	}
	if !o.SACKOK || !o.HasTS || o.TSVal != 5 || o.TSEcr != 6 || o.HasMSS || err != nil {
		t.Fatalf("%+v %v", o, err)
	}
	o, err = ParseOptions([]byte{2, 4, 5, 180, 8, 99})
	if !o.HasMSS || err != ErrOptions || o.HasTS {
		t.Fatalf("malformed: %+v %v", o, err)
	}
	if _, err = ParseOptions([]byte{2, 0, 1}); err != ErrOptions {
		t.Fatal("length 0 not rejected")
	}
}

func TestMSSClamp(t *testing.T) {
	p := newPeer(t, Config{})
	for _, tc := range []struct {
		opt  []byte
		want uint16
	}{
		{nil, 536},
		{[]byte{2, 4, 0, 0}, MSSFloor},
		{[]byte{2, 4, 0, 10}, MSSFloor},
		{[]byte{2, 4, 0xff, 0xff}, 1460},
		{[]byte{2, 4, 4, 0}, 1024},
	} {
		c, _ := p.open(tc.opt)
		p.e.mu.Lock()
		got := c.mss
		delete(p.e.l.conns, c.id)
		p.e.l.hot = nil // it was removed behind Deliver's one-entry cache
		p.e.mu.Unlock()
		if got != tc.want {
			t.Errorf("MSS option % x: mss %d, want %d", tc.opt, got, tc.want)
		}
		p.drain()
	}
}

func TestUrgentInline(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	s := seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK | FlagURG, wnd: 1000, data: []byte("abcdef")}
	b := s.bytes(addrB, addrA)
	b[18], b[19] = 0xff, 0xff // urgent pointer far beyond the data
	p.e.mu.Lock()
	p.e.l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: b})
	p.e.mu.Unlock()
	buf := make([]byte, 10)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "abcdef" {
		t.Fatalf("Read %q %v", buf[:n], err)
	}
}

func TestISNAndPorts(t *testing.T) {
	n := newTestNet(t, 5, faults{}, Config{EphemeralLow: 40000, EphemeralHigh: 40003}, Config{})
	l := n.ends[0].l
	id := tuple{laddr: addrA, raddr: addrB, lport: 1, rport: 80}
	id2 := id
	id2.lport = 2
	a, b := l.newISN(id), l.newISN(id2)
	if a == b {
		t.Fatal("ISNs of different 4-tuples are equal")
	}
	n.clk.Advance(time.Millisecond)
	if d := l.newISN(id) - a; d < 240 || d > 260 {
		t.Fatalf("ISN advanced by %d in 1ms, want ~250 (4µs clock)", d)
	}
	// Ports: all four are handed out, then none.
	seen := map[uint16]bool{}
	for i := 0; i < 4; i++ {
		p, ok := l.pickPort(tuple{laddr: addrA, raddr: addrB, rport: 80})
		if !ok || p < 40000 || p > 40003 || seen[p] {
			t.Fatalf("port %d %v", p, ok)
		}
		seen[p] = true
		l.conns[tuple{laddr: addrA, raddr: addrB, lport: p, rport: 80}] = &Conn{}
	}
	if _, ok := l.pickPort(tuple{laddr: addrA, raddr: addrB, rport: 80}); ok {
		t.Fatal("a port was handed out twice")
	}
	// Another destination port can reuse them.
	if _, ok := l.pickPort(tuple{laddr: addrA, raddr: addrB, rport: 81}); !ok {
		t.Fatal("no port for another destination")
	}
}

func TestMemoryBound(t *testing.T) {
	p := newPeer(t, Config{MaxMemory: minBlock}) // room for one small receive ring
	c1, iss1 := p.open(nil)
	p.send(seg{sport: 5001, dport: 80, seq: peerISN, flags: FlagSYN, wnd: 65535})
	h := p.expect(FlagSYN|FlagACK, nil, nil)
	iss2 := h.Seq()
	p.send(seg{sport: 5001, dport: 80, seq: peerISN + 1, ack: iss2 + 1, flags: FlagACK, wnd: 65535})
	c2, _ := p.e.l.listeners[80].v4.AcceptTCP()
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss1 + 1, flags: FlagACK, wnd: 1000, data: []byte("one")})
	p.expect(FlagACK, nil, u32(peerISN+4))
	// No memory left for c2's buffer: dropped, not acknowledged.
	p.send(seg{sport: 5001, dport: 80, seq: peerISN + 1, ack: iss2 + 1, flags: FlagACK, wnd: 1000, data: []byte("two")})
	p.expect(FlagACK, nil, u32(peerISN+1))
	if p.e.l.lockedStats().Drops[DropMemory] != 1 {
		t.Fatal("memory drop not counted")
	}
	c1.Read(make([]byte, 10)) // frees c1's buffer
	p.send(seg{sport: 5001, dport: 80, seq: peerISN + 1, ack: iss2 + 1, flags: FlagACK, wnd: 1000, data: []byte("two")})
	p.expect(FlagACK, nil, u32(peerISN+4))
	buf := make([]byte, 10)
	n, _ := c2.Read(buf)
	if string(buf[:n]) != "two" {
		t.Fatalf("c2 read %q", buf[:n])
	}
	if m := p.e.l.lockedStats().Memory; m != 0 {
		t.Fatalf("memory %d after reads", m)
	}
}

func TestBuffersFollowUsage(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 1000, data: []byte("small")})
	if m := p.e.l.lockedStats().Memory; m != minBlock {
		t.Fatalf("memory %d for 5 unread bytes, want %d", m, minBlock)
	}
	// Out-of-order data far into the window grows the ring, keeping both.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1 + 5 + 20000, ack: iss + 1, flags: FlagACK, wnd: 1000, data: []byte("far")})
	if m := p.e.l.lockedStats().Memory; m != 32<<10 {
		t.Fatalf("memory %d after far segment, want 32 KiB", m)
	}
	buf := make([]byte, 100)
	if n, _ := c.Read(buf); string(buf[:n]) != "small" {
		t.Fatalf("read %q", buf[:n])
	}
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1 + 5, ack: iss + 1, flags: FlagACK, wnd: 1000, data: make([]byte, 20000)})
	big := make([]byte, 30000)
	n, _ := c.Read(big)
	if n != 20003 || string(big[20000:n]) != "far" {
		t.Fatalf("read %d bytes, tail %q", n, big[max(n-3, 0):n])
	}
	if m := p.e.l.lockedStats().Memory; m != 0 {
		t.Fatalf("memory %d after draining", m)
	}
}

// A receive ring that drained is taken again at the size it last needed,
// so a bulk reader does not make it regrow (and copy) from 4 KiB after
// every Read; the size decays one class per ring once flows get small.
func TestRingSizeHint(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	seq := uint32(peerISN + 1)
	data := make([]byte, 1000)
	recv := func(n int) {
		for i := 0; i < n; i++ {
			p.send(seg{sport: 5000, dport: 80, seq: seq, ack: iss + 1, flags: FlagACK, wnd: 65535, data: data})
			seq += uint32(len(data))
		}
	}
	size := func() int {
		p.e.mu.Lock()
		defer p.e.mu.Unlock()
		if c.rx == nil {
			return 0
		}
		return len(c.rx.buf)
	}
	readAll := func() {
		p.e.mu.Lock()
		defer p.e.mu.Unlock()
		buf := make([]byte, 256<<10)
		for c.rxLen() > 0 {
			c.tryRead(buf)
		}
		if c.rx != nil {
			t.Fatal("drained ring not released")
		}
	}
	recv(60) // 60000 bytes: grows to 64 KiB
	if s := size(); s != 64<<10 {
		t.Fatalf("ring %d bytes after 60000", s)
	}
	readAll()
	recv(1)
	if s := size(); s != 64<<10 {
		t.Fatalf("next ring %d bytes, want the 64 KiB the last one needed", s)
	}
	for _, want := range []int{32 << 10, 16 << 10, 8 << 10, 4 << 10, 4 << 10} {
		readAll()
		recv(1)
		if s := size(); s != want {
			t.Fatalf("ring %d bytes after small reads, want %d", s, want)
		}
	}
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	if c.rcvNxt != seq {
		t.Fatalf("rcvNxt %d, want %d", c.rcvNxt, seq)
	}
}

// TCP is unicast only (RFC 1122 §4.2.3.10): a SYN in a broadcast (the
// network layer's flag, which covers subnet broadcasts and link-layer
// broadcast frames), to a multicast or the limited broadcast address, or
// from a multicast or unspecified source, is dropped, counted once under
// DropBroadcast, and gets no RST.
func TestBroadcastDropped(t *testing.T) {
	p := newPeer(t, Config{})
	if _, err := p.e.l.Listen(80); err != nil {
		t.Fatal(err)
	}
	mcast := inet.AddrFrom4(inet.MustParseAddr4("224.0.0.1"))
	bcast := inet.AddrFrom4(inet.IPv4Broadcast)
	zero := inet.AnyIPv4
	syn := seg{sport: 5000, dport: 80, seq: peerISN, flags: FlagSYN, wnd: 1000}
	for i, pk := range []transport.Packet{
		{Src: addrB, Dst: addrA, Broadcast: true},
		{Src: addrB, Dst: mcast},
		{Src: addrB, Dst: bcast},
		{Src: mcast, Dst: addrA},
		{Src: zero, Dst: addrA},
	} {
		pk.Payload = syn.bytes(pk.Src, pk.Dst)
		p.e.mu.Lock()
		p.e.l.Deliver(&pk)
		st := p.e.l.StatsLocked()
		p.e.mu.Unlock()
		if st.Drops[DropBroadcast] != uint64(i+1) || st.Drops[DropOther] != 0 {
			t.Fatalf("packet %d: drops %v", i, st.Drops)
		}
	}
	p.none()
}
