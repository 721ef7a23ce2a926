package tcp

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/mirago/mirago/internal/testkit/require"
)

// TestIdleConnMemory bounds the heap cost of an idle established
// connection (target: a few hundred bytes; gVisor is ~5.8 KB).
func TestIdleConnMemory(t *testing.T) {
	t.Logf("sizeof(Conn) = %d", unsafe.Sizeof(Conn{}))
	require.NoRace(t, "allocation counts differ")
	forFamilies(t, testIdleConnMemory)
}

func testIdleConnMemory(t *testing.T) {
	p := newPeer(t, Config{})
	ln, _ := p.e.l.Listen(80)
	_ = ln
	const N = 10000
	p.e.l.ip = &discardIP{}
	var ms0, ms1 runtime.MemStats
	for i := 0; i < 3; i++ { // also empties sync.Pools (victim cache)
		runtime.GC()
	}
	runtime.ReadMemStats(&ms0)
	for i := 0; i < N; i++ {
		port := uint16(20000 + i)
		p.send(seg{sport: port, dport: 80, seq: peerISN, flags: FlagSYN, wnd: 65535})
		p.e.mu.Lock()
		c := p.e.l.conns[tuple{laddr: addrA, raddr: addrB, lport: 80, rport: port}]
		iss := c.iss
		p.e.mu.Unlock()
		p.send(seg{sport: port, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 65535})
		p.e.mu.Lock()
		ln.queue = ln.queue[:0] // "accepted"
		p.e.mu.Unlock()
	}
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms1)
	per := float64(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc)) / N
	runtime.KeepAlive(p)
	t.Logf("heap per idle established conn: %.0f bytes (incl. map entry)", per)
	if p.e.l.lockedStats().States[Established] != N {
		t.Fatalf("established %d", p.e.l.lockedStats().States[Established])
	}
	if per <= 0 || per > 1450 {
		t.Fatalf("idle conn costs %.0f bytes, want <= 1450 (0.25x gVisor)", per)
	}
}
