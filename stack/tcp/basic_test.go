package tcp

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"
)

// transfer moves size bytes each way between the two ends of n at once and
// checks the SHA-256 on both sides. It fails on a stall: no progress for
// maxStall of virtual time.
func transfer(t *testing.T, n *testNet, a, b *Conn, size int, maxStall, maxTime time.Duration) {
	t.Helper()
	type dir struct {
		src, dst    *Conn
		si, di      int
		gen         *ChaChaStream
		sent, recvd int
		hs, hr      [32]byte
		hsend, hrcv sha256Hash
		closed      bool
		progress    int
		last        time.Time
	}
	dirs := []*dir{
		{src: a, dst: b, si: 0, di: 1, gen: newChaChaStream(1)},
		{src: b, dst: a, si: 1, di: 0, gen: newChaChaStream(2)},
	}
	for _, d := range dirs {
		d.hsend = sha256.New()
		d.hrcv = sha256.New()
	}
	wbuf := make([]byte, 64<<10)
	rbuf := make([]byte, 64<<10)
	lastProgress := n.clk.Now()
	var maxGap time.Duration
	for _, d := range dirs {
		d.last = lastProgress
	}
	start := n.clk.Now()
	pump := func() {
		for _, d := range dirs {
			n.lockedDo(d.si, func(*Layer) {
				for d.sent < size {
					k := min(len(wbuf), size-d.sent, d.src.txFree())
					if k == 0 || d.src.writeErr() != nil {
						break
					}
					d.gen.fill(wbuf[:k], d.sent)
					m := d.src.tryWrite(wbuf[:k])
					if m == 0 {
						break
					}
					d.hsend.Write(wbuf[:m])
					d.sent += m
				}
				if d.sent == size && !d.closed {
					d.closed = true
					d.src.shutWrite()
				}
			})
			n.lockedDo(d.di, func(*Layer) {
				for {
					m, _ := d.dst.tryRead(rbuf)
					if m == 0 {
						break
					}
					d.hrcv.Write(rbuf[:m])
					d.recvd += m
				}
			})
		}
	}
	done := func() bool {
		pump()
		now := n.clk.Now()
		stalled := false
		for _, d := range dirs {
			if d.recvd != d.progress || d.recvd == size {
				maxGap = max(maxGap, now.Sub(d.last))
				d.progress, d.last = d.recvd, now
			}
			if now.Sub(d.last) > maxStall {
				stalled = true
				lastProgress = d.last
			}
		}
		if stalled {
			t.Fatalf("stall: no progress for %v (recvd %d/%d, %d/%d)\nA: %s\nB: %s", n.clk.Now().Sub(lastProgress), dirs[0].recvd, size, dirs[1].recvd, size, a.debugString(), b.debugString())
		}
		return dirs[0].recvd == size && dirs[1].recvd == size
	}
	if !n.run(maxTime, done) {
		t.Fatalf("transfer incomplete after %v: %d/%d and %d/%d; a=%s b=%s", n.clk.Now().Sub(start), dirs[0].recvd, size, dirs[1].recvd, size, a.state, b.state)
	}
	for i, d := range dirs {
		if !bytes.Equal(d.hsend.Sum(nil), d.hrcv.Sum(nil)) {
			t.Fatalf("direction %d: SHA-256 mismatch", i)
		}
	}
	t.Logf("transferred %d bytes each way in %v virtual (longest stall %v); net %+v", size, n.clk.Now().Sub(start), maxGap, n.stats)
}

func TestHandshakeAndTransfer(t *testing.T) {
	n := newTestNet(t, 1, faults{delay: time.Millisecond}, Config{}, Config{})
	a, b := n.connect(80)
	transfer(t, n, a, b, 1<<20, 5*time.Second, time.Minute)
	// Both sent FIN; let the close finish.
	n.run(5*time.Minute, func() bool {
		var sa, sb State
		n.lockedDo(0, func(*Layer) { sa = a.state })
		n.lockedDo(1, func(*Layer) { sb = b.state })
		return sa == Closed && sb == Closed
	})
	sa, sb := a.State(), b.State()
	if sa != Closed || sb != Closed {
		t.Fatalf("states after close: %s %s", sa, sb)
	}
}

// TestPingPongNoStalls checks that request/response traffic never waits
// on a timer (Nagle vs delayed ACK): with zero network delay, 2000 rounds
// of 100-byte requests and 3000-byte responses complete at time zero.
func TestPingPongNoStalls(t *testing.T) {
	n := newTestNet(t, 1, faults{}, Config{}, Config{})
	a, b := n.connect(80)
	start := n.clk.Now()
	req, resp := make([]byte, 100), make([]byte, 3000)
	buf := make([]byte, 8192)
	for round := 0; round < 2000; round++ {
		n.lockedDo(0, func(*Layer) { a.tryWrite(req) })
		got := 0
		n.run(time.Minute, func() bool {
			n.lockedDo(1, func(*Layer) {
				m, _ := b.tryRead(buf)
				got += m
			})
			return got == len(req)
		})
		n.lockedDo(1, func(*Layer) { b.tryWrite(resp) })
		got = 0
		n.run(time.Minute, func() bool {
			n.lockedDo(0, func(*Layer) {
				m, _ := a.tryRead(buf)
				got += m
			})
			return got == len(resp)
		})
		if got != len(resp) {
			t.Fatalf("round %d: response %d bytes", round, got)
		}
	}
	if d := n.clk.Now().Sub(start); d != 0 {
		t.Fatalf("ping-pong waited %v on timers", d)
	}
}
