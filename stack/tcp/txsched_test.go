package tcp

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

// Device backpressure (txsched.go): a full device queue is local
// congestion, not loss.

// TestDeviceBusyNoLoss runs 16 bulk connections from A to B through
// device queues of 8 segments each way: every byte arrives, in order,
// with no retransmission and no RTO, though the devices refused segments
// thousands of times; and the connections share the device evenly. With
// a lossy link behind the device (lossy), recovery and refusals mix, and
// every byte still arrives intact.
func TestDeviceBusyNoLoss(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		off   netif.Offloads
		lossy bool
	}{
		{"cubic-sack", Config{}, netif.Offloads{}, false},
		{"cubic-sack-tso", Config{}, offloads, false},
		{"newreno-nosack", Config{CongestionControl: NewReno, DisableSACK: true}, netif.Offloads{}, false},
		{"nots", Config{DisableTimestamps: true}, netif.Offloads{}, false},
		{"quantum-1", Config{DeviceQuantum: 1}, netif.Offloads{}, false},
		{"cubic-sack-lossy", Config{}, netif.Offloads{}, true},
		{"newreno-nosack-lossy", Config{CongestionControl: NewReno, DisableSACK: true}, netif.Offloads{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const flows, size = 16, 1 << 20
			n := newTestNetOffload(t, 7, faults{delay: time.Millisecond}, tc.cfg, tc.cfg, tc.off)
			var cs, ss [flows]*Conn
			for i := range flows {
				cs[i], ss[i] = n.connect(uint16(80 + i))
			}
			n.devCap = [2]int{8, 8}
			if tc.lossy {
				n.f = faults{loss: 0.02, reorder: 0.02, dup: 0.01, delay: time.Millisecond, jitter: time.Millisecond}
			}
			var sent, recvd [flows]int
			var firstDone [flows]int // bytes each flow had when the first finished
			var seen bool
			wbuf, rbuf := make([]byte, 64<<10), make([]byte, 64<<10)
			ok := n.run(time.Hour, func() bool {
				all := true
				n.lockedDo(0, func(*Layer) {
					for i, c := range cs {
						for sent[i] < size {
							k := min(len(wbuf), size-sent[i], c.txFree())
							if k == 0 {
								break
							}
							fillPattern(wbuf[:k], i, sent[i])
							m := c.tryWrite(wbuf[:k])
							if m == 0 {
								break
							}
							sent[i] += m
						}
					}
				})
				n.lockedDo(1, func(*Layer) {
					for i, c := range ss {
						for {
							m, _ := c.tryRead(rbuf)
							if m == 0 {
								break
							}
							want := make([]byte, m)
							fillPattern(want, i, recvd[i])
							if !bytes.Equal(rbuf[:m], want) {
								t.Fatalf("flow %d: bytes %d..%d corrupted", i, recvd[i], recvd[i]+m)
							}
							recvd[i] += m
						}
						if recvd[i] < size {
							all = false
						} else if !seen {
							seen = true
							firstDone = recvd
						}
					}
				})
				return all
			})
			if !ok {
				t.Fatalf("transfer did not finish: received %v", recvd)
			}
			a, b := n.ends[0].l.StatsLocked(), n.ends[1].l.StatsLocked()
			t.Logf("refused %v, A: busy=%d episodes=%d rtx=%d rto=%d probes=%d; B: busy=%d", n.refused, a.DeviceBusy, a.DeviceEpisodes, a.Retransmits, a.RTOEvents, a.TailLossProbes, b.DeviceBusy)
			if n.refused[0] == 0 || a.DeviceBusy == 0 || a.DeviceEpisodes == 0 {
				t.Fatalf("the device never refused a segment (refused %v, busy %d): the test tests nothing", n.refused, a.DeviceBusy)
			}
			if tc.lossy {
				return
			}
			if a.Retransmits+b.Retransmits != 0 || a.RTOEvents+b.RTOEvents != 0 {
				t.Errorf("retransmissions %d+%d, RTOs %d+%d: a refused segment was taken as lost", a.Retransmits, b.Retransmits, a.RTOEvents, b.RTOEvents)
			}
			x := make([]float64, flows)
			for i, v := range firstDone {
				x[i] = float64(v)
			}
			if j := jainIndex(x); j < 0.9 {
				t.Errorf("Jain's index %.3f when the first flow finished (bytes %v): the device is not shared fairly", j, firstDone)
			}
		})
	}
}

var mss1460 = []byte{2, 4, 0x05, 0xb4}

func fillPattern(b []byte, flow, off int) {
	for i := range b {
		v := off + i
		b[i] = byte(v*7 + v>>8 + flow*31)
	}
}

func jainIndex(x []float64) float64 {
	var s, s2 float64
	for _, v := range x {
		s += v
		s2 += v * v
	}
	if s2 == 0 {
		return 0
	}
	return s * s / (float64(len(x)) * s2)
}

// A segment the device refuses is not sent: SND.NXT stays, nothing is
// counted as retransmitted, and the same segment goes out when the device
// has room. While the device is busy, nothing is offered to it.
func TestDeviceBusyKeepsSegment(t *testing.T) {
	p := newPeer(t, Config{NoDelay: true})
	c, iss := p.open(mss1460)
	p.drain()
	p.e.mu.Lock()
	p.e.ip.busy = true
	c.tryWrite(make([]byte, 1000))
	nxt, rtx := c.sndNxt, c.cnt().Retransmits
	queued := c.txs&txsQueued != 0
	st := p.e.l.StatsLocked()
	p.e.mu.Unlock()
	p.none()
	if nxt != iss+1 || rtx != 0 || !queued || st.DeviceBusy != 1 || st.DeviceEpisodes != 1 {
		t.Fatalf("after a refusal: SND.NXT %d (want %d), retransmits %d, queued %v, busy %d, episodes %d", nxt-iss, 1, rtx, queued, st.DeviceBusy, st.DeviceEpisodes)
	}
	// More data while busy: kept too, without offering it to the device.
	p.e.mu.Lock()
	c.tryWrite(make([]byte, 1000))
	st = p.e.l.StatsLocked()
	p.e.ip.busy = false
	p.e.l.TxRoomLocked()
	p.e.mu.Unlock()
	if st.DeviceBusy != 2 {
		t.Fatalf("busy %d, want 2", st.DeviceBusy)
	}
	if h := p.expect(FlagACK, u32(iss+1), nil); len(h.Payload()) != 1460 {
		t.Fatalf("sent %d bytes after room, want 1460", len(h.Payload()))
	}
	if h := p.expect(FlagACK|FlagPSH, u32(iss+1+1460), nil); len(h.Payload()) != 540 {
		t.Fatalf("then %d bytes, want 540", len(h.Payload()))
	}
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	if c.cnt().Retransmits != 0 || c.txs != 0 || p.e.l.devBusy || p.e.l.txq.n != 0 {
		t.Fatalf("after room: retransmits %d, txs %#x, busy %v, queue %d", c.cnt().Retransmits, c.txs, p.e.l.devBusy, p.e.l.txq.n)
	}
}

// An ACK the device refuses stays owed and goes when it has room.
func TestDeviceBusyKeepsAck(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	p.drain()
	p.e.mu.Lock()
	p.e.ip.busy = true
	p.e.mu.Unlock()
	// Out of order data: an immediate duplicate ACK is owed.
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1 + 100, ack: iss + 1, flags: FlagACK, wnd: 65535, data: make([]byte, 100)})
	p.none()
	p.e.mu.Lock()
	owed := c.f&fAckNow != 0
	p.e.ip.busy = false
	p.e.l.TxRoomLocked()
	p.e.mu.Unlock()
	if !owed {
		t.Fatal("refused ACK no longer owed")
	}
	p.expect(FlagACK, u32(iss+1), u32(peerISN+1))
}

// A SYN the device refuses goes out when it has room, not a second later
// at the SYN timer.
func TestDeviceBusyKeepsSYN(t *testing.T) {
	p := newPeer(t, Config{})
	p.e.mu.Lock()
	p.e.ip.busy = true
	c := p.e.l.startDial(addrB, 80)
	p.e.mu.Unlock()
	p.none()
	p.advance(time.Millisecond)
	p.e.mu.Lock()
	p.e.ip.busy = false
	p.e.l.TxRoomLocked()
	p.e.mu.Unlock()
	p.expect(FlagSYN, u32(c.iss), nil)
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	if c.cnt().Retransmits != 0 || c.txs != 0 {
		t.Fatalf("retransmits %d, txs %#x", c.cnt().Retransmits, c.txs)
	}
}

// A NewReno fast retransmit the device refuses goes first in the
// connection's next turn.
func TestDeviceBusyKeepsFastRetransmit(t *testing.T) {
	p := newPeer(t, Config{NoDelay: true, DisableSACK: true, CongestionControl: NewReno})
	c, iss := p.open(mss1460)
	p.drain()
	p.e.mu.Lock()
	for range 6 {
		c.tryWrite(make([]byte, 1460))
	}
	p.e.mu.Unlock()
	for range 6 {
		p.next()
	}
	ack := func() {
		p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 1, flags: FlagACK, wnd: 65535})
	}
	ack()
	ack()
	p.e.mu.Lock()
	p.e.ip.busy = true
	p.e.mu.Unlock()
	ack() // the third duplicate: fast retransmit, refused
	p.none()
	p.e.mu.Lock()
	rec, owed := c.f&fRecovery != 0, c.txs&txsRtxFirst != 0
	p.e.ip.busy = false
	p.e.l.TxRoomLocked()
	p.e.mu.Unlock()
	if !rec || !owed {
		t.Fatalf("recovery %v, retransmit owed %v", rec, owed)
	}
	h := p.next()
	if h.Seq() != iss+1 || len(h.Payload()) != 1460 {
		t.Fatalf("first after room: %s, want the retransmission at SND.UNA", describe(h))
	}
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	if c.cnt().Retransmits != 1 || c.txs&txsRtxFirst != 0 {
		t.Fatalf("retransmits %d, txs %#x", c.cnt().Retransmits, c.txs)
	}
}

// A device that does not report room gets a retry after DeviceRetry; one
// that does but stays silent, after ten times that.
func TestDeviceRetry(t *testing.T) {
	for _, notify := range []bool{false, true} {
		p := newPeer(t, Config{NoDelay: true})
		c, iss := p.open(nil)
		p.drain()
		p.e.mu.Lock()
		p.e.l.SetTxRoomNotifyLocked(notify)
		p.e.ip.busy = true
		c.tryWrite(make([]byte, 100))
		p.e.ip.busy = false
		p.e.mu.Unlock()
		wait := time.Millisecond
		if notify {
			wait *= 10
		}
		p.advance(wait - time.Microsecond)
		p.none()
		p.advance(time.Microsecond)
		p.expect(FlagACK|FlagPSH, u32(iss+1), nil)
	}
}

// Connections waiting for the device are served in turn, each with
// DeviceQuantum bytes (the segment that reaches it is sent whole).
func TestDeviceRoundRobin(t *testing.T) {
	p := newPeer(t, Config{NoDelay: true, DeviceQuantum: 3000})
	if _, err := p.e.l.Listen(80); err != nil {
		t.Fatal(err)
	}
	var cs []*Conn
	for i := range 3 {
		port := uint16(6000 + i)
		p.send(seg{sport: port, dport: 80, seq: peerISN, flags: FlagSYN, wnd: 65535, opts: mss1460})
		h := p.expect(FlagSYN|FlagACK, nil, nil)
		p.send(seg{sport: port, dport: 80, seq: peerISN + 1, ack: h.Seq() + 1, flags: FlagACK, wnd: 65535})
		p.e.mu.Lock()
		cs = append(cs, p.e.l.conns[tuple{laddr: addrA, raddr: addrB, lport: 80, rport: port}])
		p.e.mu.Unlock()
	}
	p.e.mu.Lock()
	p.e.ip.busy = true
	for _, c := range cs {
		c.tryWrite(make([]byte, 10*1460)) // the initial window: 10 segments
	}
	p.e.ip.busy = false
	p.e.l.TxRoomLocked()
	p.e.mu.Unlock()
	var got []uint16
	for range 30 {
		got = append(got, p.next().DstPort()-6000)
	}
	p.none()
	want := []uint16{0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 1, 2}
	if !slices.Equal(got, want) {
		t.Fatalf("connections served in the order %v, want %v", got, want)
	}
}

// busyIP is discardIP that refuses segments while busy.
type busyIP struct {
	discardIP
	busy bool
}

func (d *busyIP) Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	if d.busy {
		return netif.ErrBusy
	}
	return d.discardIP.Write(src, dst, proto, b, o)
}

// TestAllocsDeviceBusy: a segment refused, kept, and sent on the device's
// room notification allocates nothing once the device queue has grown.
func TestAllocsDeviceBusy(t *testing.T) {
	require.NoRace(t, "sync.Pool drops items at random")
	p := newPeer(t, Config{NoDelay: true})
	c, iss := p.open(append(append([]byte{2, 4, 5, 180}, tsBytes(1000, 0)...), 4, 2))
	p.drain()
	ip := &busyIP{}
	p.e.l.ip = ip
	l := p.e.l
	payload := make([]byte, 1448)
	var in [256]byte
	opts := tsBytes(1001, 0)
	ourSeq := iss + 1
	send := func() {
		p.e.mu.Lock()
		ip.busy = true
		c.tryWrite(payload)
		ip.busy = false
		l.TxRoomLocked()
		ourSeq += uint32(len(payload))
		b := segBuf(in[:], seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: ourSeq, flags: FlagACK, wnd: 65535, opts: opts})
		l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: b})
		p.e.mu.Unlock()
	}
	for range 100 {
		send()
	}
	if a := testing.AllocsPerRun(1000, send); a != 0 {
		t.Errorf("refused, kept and sent: %v allocations per segment", a)
	}
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	st := l.StatsLocked()
	if st.DeviceBusy < 1100 || st.Retransmits != 0 || c.sndUna != ourSeq {
		t.Fatalf("busy %d, retransmits %d, %s", st.DeviceBusy, st.Retransmits, c.debugString())
	}
}
