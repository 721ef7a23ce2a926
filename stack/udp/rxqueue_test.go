package udp

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

// payloadFor is datagram i's payload of n bytes.
func payloadFor(i, n int) []byte {
	p := make([]byte, n)
	for j := range p {
		p[j] = byte(i*7 + j)
	}
	return p
}

// rawDatagram builds a UDP datagram from peer:sport carrying p.
func rawDatagram(sport, dport uint16, p []byte) []byte {
	d := make([]byte, HeaderLen+len(p))
	(&Fields{SrcPort: sport, DstPort: dport, Length: uint16(len(d))}).Encode(d)
	copy(d[HeaderLen:], p)
	SetChecksum(d, peer, us)
	return d
}

// held is the receive queue memory of c and of the layer (lock taken).
func held(l *Layer, c *Conn) (sock int, st Stats) {
	l.lock.Lock()
	defer l.lock.Unlock()
	if c.rx != nil {
		sock = cap(c.rx.B)
	}
	return sock, l.StatsLocked()
}

// poolMax is the most the layer's pool keeps: one block per class.
func poolMax(l *Layer) int {
	n := 0
	for i := range l.rxMem.Classes() {
		n += l.rxMem.Size(i)
	}
	return n
}

// checkDrained reads want datagrams from c (sent with sport 1000+i and
// payloadFor(i, size)), then checks that the accounting went back to 0.
func checkDrained(t *testing.T, l *Layer, c *Conn, want, size int) {
	t.Helper()
	buf := make([]byte, 65536)
	for i := range want {
		n, from, err := c.ReadFromAddrPort(buf)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if from != netip.AddrPortFrom(peer.Netip(), uint16(1000+i)) || !bytes.Equal(buf[:n], payloadFor(i, size)) {
			t.Fatalf("read %d: %d bytes from %v, want datagram %d (%d bytes)", i, n, from, i, size)
		}
	}
	sock, st := held(l, c)
	l.lock.Lock()
	qlen, used := c.qlen, c.rused
	l.lock.Unlock()
	if sock != 0 || st.RecvMemory != 0 || qlen != 0 || used != 0 {
		t.Fatalf("after draining: socket holds %d, RecvMemory %d, %d datagrams, %d bytes", sock, st.RecvMemory, qlen, used)
	}
	if st.PoolMemory > poolMax(l) {
		t.Fatalf("pool keeps %d bytes, more than one block per class (%d)", st.PoolMemory, poolMax(l))
	}
}

// A flood of datagrams of one size stops at the memory bound: the queue
// holds no more than RecvBuffer bytes, and the number queued is exactly
// what the accounting predicts (each datagram takes its payload plus an
// 8-byte record, and RecvQueue caps the count). Draining returns the
// accounting to zero.
func TestRecvMemoryBound(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        Config
		size, sent int
		want       int // datagrams queued
		mem        int // memory the socket holds then
	}{
		{"1-byte flood, memory bound", Config{RecvBuffer: 64 << 10, RecvQueue: 1 << 20}, 1, 10000, 65536 / 9, 64 << 10},
		{"1-byte flood, default count bound", Config{}, 1, 1000, 512, 8 << 10},
		{"0-byte flood", Config{RecvBuffer: 16 << 10, RecvQueue: 1 << 20}, 0, 3000, 2048, 16 << 10},
		{"100 bytes, default", Config{}, 100, 1000, 512, 64 << 10},
		{"512 bytes, default", Config{}, 512, 1000, 262144 / 520, 256 << 10},
		{"full-size 1472, default", Config{}, 1472, 1000, 177, 256 << 10},
		{"full-size 1472 into empty queue", Config{}, 1472, 1, 1, 2 << 10},
		{"8000 bytes, default", Config{}, 8000, 100, 32, 256 << 10},
		{"64 KiB into empty queue, default", Config{}, 65507, 1, 1, 64 << 10},
		{"64 KiB flood, default", Config{}, 65507, 10, 4, 256 << 10},
		{"64 KiB, RecvBuffer just fits", Config{RecvBuffer: 65515}, 65507, 3, 1, 65515},
		{"64 KiB, RecvBuffer too small", Config{RecvBuffer: 65514}, 65507, 3, 0, 0},
		{"RecvBuffer below minimum holds a full-size datagram", Config{RecvBuffer: 100}, 1472, 3, 1, 2 << 10},
		{"RecvQueue bound", Config{RecvQueue: 3}, 1, 5, 3, 2 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := New(&fakeIP{}, &sync.Mutex{}, nil, tc.cfg)
			c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
			defer c.Close()
			for i := range tc.sent {
				deliver(l, rawDatagram(uint16(1000+i), 7, payloadFor(i, tc.size)), false)
			}
			sock, st := held(l, c)
			if int(st.InDatagrams) != tc.want || int(st.DropQueueFull) != tc.sent-tc.want {
				t.Fatalf("queued %d, dropped %d; want %d, %d", st.InDatagrams, st.DropQueueFull, tc.want, tc.sent-tc.want)
			}
			if sock != tc.mem || st.RecvMemory != sock {
				t.Fatalf("socket holds %d (RecvMemory %d), want %d", sock, st.RecvMemory, tc.mem)
			}
			if sock > l.cfg.RecvBuffer {
				t.Fatalf("socket holds %d, more than RecvBuffer %d", sock, l.cfg.RecvBuffer)
			}
			checkDrained(t, l, c, tc.want, tc.size)
		})
	}
}

// Random sizes, interleaved deliveries and (sometimes truncating) reads:
// the ring wraps and grows, and after every step what is queued and
// dropped matches a model FIFO with the same accounting, the memory held
// is the socket's block, within RecvBuffer, and reads return the right
// datagrams.
func TestRecvQueueModel(t *testing.T) {
	for _, cfg := range []Config{{}, {RecvBuffer: 5000, RecvQueue: 1 << 20}, {RecvBuffer: 100 << 10, RecvQueue: 40}} {
		l := New(&fakeIP{}, &sync.Mutex{}, nil, cfg)
		c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
		rnd := rand.New(rand.NewPCG(1, 2))
		type rec struct {
			from uint16
			data []byte
		}
		var model []rec
		used, drops := 0, 0
		buf := make([]byte, 65536)
		for step := range 20000 {
			if rnd.IntN(2) == 0 {
				size := rnd.IntN(64)
				switch rnd.IntN(20) {
				case 0:
					size = rnd.IntN(65508)
				case 1, 2:
					size = rnd.IntN(1473)
				}
				p := payloadFor(step, size)
				sport := uint16(rnd.IntN(65536))
				deliver(l, rawDatagram(sport, 7, p), false)
				if len(model) < l.cfg.RecvQueue && used+recSize(size) <= l.cfg.RecvBuffer {
					model = append(model, rec{sport, p})
					used += recSize(size)
				} else {
					drops++
				}
			} else if len(model) > 0 {
				m := buf[:rnd.IntN(len(model[0].data)+2)]
				n, from, err := c.ReadFromAddrPort(m)
				want := model[0]
				model = model[1:]
				used -= recSize(len(want.data))
				if err != nil || from.Port() != want.from || from.Addr() != peer.Netip() ||
					!bytes.Equal(m[:n], want.data[:min(len(m), len(want.data))]) {
					t.Fatalf("step %d: read %d bytes from %v (err %v), want %d from port %d", step, n, from, err, len(want.data), want.from)
				}
			}
			sock, st := held(l, c)
			l.lock.Lock()
			qlen, rused := c.qlen, c.rused
			l.lock.Unlock()
			if qlen != len(model) || rused != used || int(st.DropQueueFull) != drops {
				t.Fatalf("step %d: %d queued (%d bytes), %d dropped; model %d (%d), %d", step, qlen, rused, st.DropQueueFull, len(model), used, drops)
			}
			if st.RecvMemory != sock || sock > l.cfg.RecvBuffer || (qlen == 0) != (sock == 0) || sock < used {
				t.Fatalf("step %d: socket holds %d, RecvMemory %d, %d bytes queued, bound %d", step, sock, st.RecvMemory, used, l.cfg.RecvBuffer)
			}
			if st.PoolMemory > poolMax(l) {
				t.Fatalf("step %d: pool keeps %d", step, st.PoolMemory)
			}
		}
		c.Close()
		if _, st := held(l, c); st.RecvMemory != 0 {
			t.Fatalf("RecvMemory %d after Close", st.RecvMemory)
		}
	}
}

// Close gives a non-empty queue's memory back.
func TestCloseReleasesQueue(t *testing.T) {
	l, _, _ := newLayer(t)
	c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	for i := range 50 {
		deliver(l, rawDatagram(1, 7, payloadFor(i, 1000)), false)
	}
	if sock, _ := held(l, c); sock == 0 {
		t.Fatal("nothing queued")
	}
	c.Close()
	if _, st := held(l, c); st.RecvMemory != 0 {
		t.Fatalf("RecvMemory %d after Close", st.RecvMemory)
	}
}

// Steady state does not allocate, one datagram at a time or in bursts
// that grow the ring, for small, full-size and 64 KiB datagrams.
func TestRecvNoAllocs(t *testing.T) {
	for _, tc := range []struct {
		name        string
		size, burst int
	}{
		{"1 byte, one at a time", 1, 1},
		{"1 byte, bursts of 500", 1, 500},
		{"1472 bytes, one at a time", 1472, 1},
		{"1472 bytes, bursts of 150", 1472, 150},
		{"65507 bytes, one at a time", 65507, 1},
		{"65507 bytes, bursts of 3", 65507, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _, _ := newLayer(t)
			c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
			d := rawDatagram(5000, 7, payloadFor(0, tc.size))
			p := &transport.Packet{Src: peer, Dst: us, Header: d, Payload: d}
			buf := make([]byte, 65536)
			allocs := testing.AllocsPerRun(20, func() {
				l.lock.Lock()
				for range tc.burst {
					l.Deliver(p)
				}
				l.lock.Unlock()
				for range tc.burst {
					if n, _, err := c.ReadFromAddrPort(buf); err != nil || n != tc.size {
						t.Fatalf("read %d %v", n, err)
					}
				}
			})
			if allocs != 0 {
				t.Fatalf("%.1f allocations per burst of %d", allocs, tc.burst)
			}
			if _, st := held(l, c); st.DropQueueFull != 0 || st.RecvMemory != 0 {
				t.Fatalf("dropped %d, RecvMemory %d", st.DropQueueFull, st.RecvMemory)
			}
		})
	}
}

// Several readers and a sender racing: every datagram is read exactly
// once, none is lost while readers wait, and the accounting ends at 0.
func TestConcurrentReadersDrain(t *testing.T) {
	l, _, _ := newLayer(t)
	c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	defer c.Close()
	const readers, total = 4, 4000
	var mu sync.Mutex
	seen := make([]bool, total)
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 2048)
			for {
				n, from, err := c.ReadFromAddrPort(b)
				if err != nil {
					return
				}
				i := int(from.Port()) - 1000
				if i < 0 || i >= total || !bytes.Equal(b[:n], payloadFor(i, i%1500)) {
					t.Errorf("bad datagram %d (%d bytes)", i, n)
					return
				}
				mu.Lock()
				if seen[i] {
					t.Errorf("datagram %d read twice", i)
				}
				seen[i] = true
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < total; {
		// Send only while there is room, so that nothing is dropped.
		l.lock.Lock()
		room := c.qlen < l.cfg.RecvQueue && c.rused+recSize(1500) <= l.cfg.RecvBuffer
		if room {
			d := rawDatagram(uint16(1000+i), 7, payloadFor(i, i%1500))
			l.Deliver(&transport.Packet{Src: peer, Dst: us, Header: d, Payload: d})
			i++
		}
		l.lock.Unlock()
		if !room {
			time.Sleep(time.Millisecond)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := 0
		for _, s := range seen {
			if s {
				n++
			}
		}
		mu.Unlock()
		if n == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d datagrams read", n, total)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Close()
	wg.Wait()
	if _, st := held(l, c); st.RecvMemory != 0 || st.DropQueueFull != 0 {
		t.Fatalf("RecvMemory %d, dropped %d", st.RecvMemory, st.DropQueueFull)
	}
}

// Datagrams from IPv6 sources take 24-byte records, interleaved with
// IPv4 ones in the same ring, and each comes back with its own source
// address, port and payload, also across the ring's wrap.
func TestRecordsBothFamilies(t *testing.T) {
	l := New(&fakeIP{}, &sync.Mutex{}, nil, Config{})
	c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	defer c.Close()
	v6 := inet.AddrFromNetip(netip.MustParseAddr("2001:db8::2"))
	srcOf := func(i int) inet.Addr {
		if i%3 == 0 {
			return v6
		}
		return peer
	}
	buf := make([]byte, 2048)
	next := 0 // the datagram the next read must return
	read := func() {
		t.Helper()
		n, from, err := c.ReadFromAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		if from != srcOf(next).AddrPort(uint16(1000+next)) || !bytes.Equal(buf[:n], payloadFor(next, 300+next*7)) {
			t.Fatalf("datagram %d: from %v, %d bytes", next, from, n)
		}
		next++
	}
	for i := range 40 {
		l.lock.Lock()
		ok := c.enqueue(srcOf(i), uint16(1000+i), payloadFor(i, 300+i*7))
		l.lock.Unlock()
		if !ok {
			t.Fatalf("datagram %d not queued", i)
		}
		if i%2 == 1 { // keep the queue short so the ring wraps
			read()
		}
	}
	for next < 40 {
		read()
	}
	if recSizeFrom(v6, 10) != 34 || recSizeFrom(peer, 10) != 18 {
		t.Fatal("record sizes")
	}
}
