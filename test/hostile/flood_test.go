package hostile

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/tcp"
)

// Case 9: floods and limits.

// synFlood sends n SYNs from random off-subnet sources and ports to port
// 80 while p's connection is open, then checks the bounds.
func synFlood(t *testing.T, n int) {
	v := newVictim(t, stack.Config{})
	ln := v.listen(80)
	p := establish(v, ln, peerIP, 40000, false)
	maxHalf := v.s.TCP().Config().MaxHalfOpen
	v.dev.record = false
	rng := rand.New(rand.NewPCG(9, 9))
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	for i := 0; i < n; i++ {
		src := inet.Addr4{byte(11 + rng.IntN(200)), byte(rng.Uint32()), byte(rng.Uint32()), byte(1 + rng.IntN(254))}
		opts := optMSS(uint16(rng.IntN(1460)))
		if i%2 == 0 {
			opts = cat(opts, optWS(uint8(rng.IntN(16))), optSACKOK(), optTS(rng.Uint32(), 0))
		}
		v.inject(tcpFrame(src, seg{sport: uint16(1024 + rng.IntN(60000)), dport: 80, seq: rng.Uint32(), flags: fSYN, win: 65535, opts: opts}))
		if i%1000 == 999 {
			st := v.stats().TCP
			if st.States[tcp.SynReceived] > maxHalf {
				t.Fatalf("after %d SYNs: %d half-open > %d", i+1, st.States[tcp.SynReceived], maxHalf)
			}
			v.clk.Advance(10 * time.Millisecond) // 100k SYNs/s
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	st := v.stats()
	t.Logf("after %d SYNs: half-open %d, cookies sent %d, TCP memory %d, heap +%d",
		n, st.TCP.States[tcp.SynReceived], st.TCP.SynCookiesSent, st.TCP.Memory, int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc))
	if grow := int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc); grow > 16<<20 {
		t.Errorf("heap grew %d bytes during the flood", grow)
	}
	if st.TCP.SynCookiesSent == 0 {
		t.Error("no SYN cookies under flood")
	}
	// A legitimate client gets in at once (through a cookie), and the
	// existing flow keeps running.
	v.dev.record = true
	start := v.clk.Now()
	q := establish(v, ln, inet.Addr4{10, 0, 0, 3}, 50000, true)
	if d := v.clk.Now().Sub(start); d > time.Second {
		t.Errorf("legitimate connection took %v", d)
	}
	q.alive()
	p.alive()
	// Half-open state drains once the flood stops.
	v.dev.record = false
	v.advance(3 * time.Minute)
	v.dev.record = true
	if n := v.stats().TCP.States[tcp.SynReceived]; n != 0 {
		t.Errorf("%d half-open connections 3 minutes after the flood", n)
	}
	p.alive()
	q.alive()
}

func TestSYNFlood(t *testing.T) {
	synFlood(t, 10000)
}

func TestTortureSYNFlood(t *testing.T) {
	torture(t)
	synFlood(t, 100000)
}

// TestFilteredSYNFlood: a listener whose accept filter (SetFilter)
// refuses 10^4 SYNs from random sources answers each with RST|ACK as a
// closed port would, keeps no half-open state and sends no SYN cookie;
// an allowed client still gets in and the established flow keeps running.
func TestFilteredSYNFlood(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ln := v.listen(80)
	p := establish(v, ln, peerIP, 40000, false)
	allowed := netip.MustParsePrefix("10.0.0.0/24")
	ln.SetFilter(func(r netip.AddrPort) bool { return allowed.Contains(r.Addr()) })
	rng := rand.New(rand.NewPCG(10, 10))
	const n = 10000
	for i := 0; i < n; i++ {
		src := inet.Addr4{byte(11 + rng.IntN(100)), byte(rng.Uint32()), byte(rng.Uint32()), byte(1 + rng.IntN(254))} // unicast, not 127/8
		sport, seq := uint16(1024+rng.IntN(60000)), rng.Uint32()
		v.inject(tcpFrame(src, seg{sport: sport, dport: 80, seq: seq, flags: fSYN, win: 65535, opts: optMSS(1460)}))
		segs := v.sentTCP()
		if len(segs) != 1 || segs[0].flags != fRST|fACK || segs[0].seq != 0 || segs[0].ack != seq+1 || segs[0].dst != src {
			t.Fatalf("refused SYN %d: want one <SEQ=0><ACK=%d><CTL=RST,ACK>, got %+v", i, seq+1, segs)
		}
		if i%1000 == 999 {
			v.clk.Advance(10 * time.Millisecond)
		}
	}
	st := v.stats().TCP
	if st.States[tcp.SynReceived] != 0 || st.SynCookiesSent != 0 || st.ListenFiltered != n {
		t.Errorf("after %d refused SYNs: half-open %d, cookies %d, filtered %d", n, st.States[tcp.SynReceived], st.SynCookiesSent, st.ListenFiltered)
	}
	q := establish(v, ln, inet.Addr4{10, 0, 0, 3}, 50000, true)
	q.alive()
	p.alive()
}

// TestBacklogLimit: with the accept queue full the next connection is
// refused cleanly (its SYN or cookie ACK is dropped: no state, no RST
// storm), and after an Accept it gets in; after everything closes all
// resources are reclaimed.
func TestBacklogLimit(t *testing.T) {
	for _, cookies := range []bool{false, true} {
		cfg := stack.Config{TCP: tcp.Config{Backlog: 4, DisableSynCookies: !cookies}}
		v := newVictim(t, cfg)
		ln := v.listen(80)
		handshake := func(port uint16) bool {
			v.inject(tcpFrame(peerIP, seg{sport: port, dport: 80, seq: 100, flags: fSYN, win: 65535, opts: optMSS(1460)}))
			for _, s := range v.sentTCP() {
				if s.flags == fSYN|fACK && s.dport == port {
					v.inject(tcpFrame(peerIP, seg{sport: port, dport: 80, seq: 101, ack: s.seq + 1, flags: fACK, win: 65535}))
					return true
				}
			}
			return false
		}
		for i := 0; i < 4; i++ {
			if !handshake(uint16(30000 + i)) {
				t.Fatalf("cookies=%v: connection %d refused below the limit", cookies, i)
			}
		}
		st := v.stats().TCP
		queued := st.States[tcp.Established]
		handshake(30010)
		st2 := v.stats().TCP
		if st2.States[tcp.Established] != queued || st2.States[tcp.SynReceived] != 0 {
			t.Fatalf("cookies=%v: connection beyond the backlog created state: %+v", cookies, st2.States)
		}
		if st2.Drops[tcp.DropBacklogFull] == st.Drops[tcp.DropBacklogFull] {
			t.Errorf("cookies=%v: backlog drop not counted", cookies)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var conns []*tcp.Conn
		for i := 0; i < 4; i++ {
			c, err := ln.AcceptContext(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		if !handshake(30011) {
			t.Fatalf("cookies=%v: no room after Accept", cookies)
		}
		c, err := ln.AcceptContext(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		for _, c := range conns {
			c.Close()
		}
		ln.Close()
		v.dev.record = false
		v.advance(10 * time.Minute)
		st3 := v.stats().TCP
		for s, n := range st3.States {
			if n != 0 {
				t.Errorf("cookies=%v: %d connections left in %v", cookies, n, tcp.State(s))
			}
		}
		if st3.Memory != 0 {
			t.Errorf("cookies=%v: %d bytes of TCP memory left", cookies, st3.Memory)
		}
	}
}

// TestSYNCookieSmallWrite: a connection completed through a SYN cookie
// must send a short write at once, like any other (Nagle holds a short
// segment only while an earlier short segment is unacknowledged).
func TestSYNCookieSmallWrite(t *testing.T) {
	v := newVictim(t, stack.Config{TCP: tcp.Config{MaxHalfOpen: 1}})
	ln := v.listen(80)
	// One half-open connection fills the table: the rest get cookies.
	v.inject(tcpFrame(inet.Addr4{192, 0, 2, 1}, seg{sport: 1, dport: 80, seq: 1, flags: fSYN, win: 100}))
	v.take()
	stuck := 0
	for i := 0; i < 16; i++ {
		q := establish(v, ln, peerIP, uint16(50000+i), i%2 == 0)
		mustWrite(t, q, []byte("hello"))
		q.absorb(v.sentTCP())
		if string(q.got) != "hello" {
			stuck++
		}
		q.conn.Abort()
		v.take()
	}
	if v.stats().TCP.SynCookiesValid < 16 {
		t.Fatalf("only %d cookie connections", v.stats().TCP.SynCookiesValid)
	}
	if stuck > 0 {
		t.Errorf("%d of 16 SYN-cookie connections hold a 5-byte write: Nagle's mark (sndSml) "+
			"must follow the cookie's ISS (tryCookie), or seqGT(c.sndSml, c.sndUna) holds short segments "+
			"until 2^31 bytes are acked", stuck)
	}
}
