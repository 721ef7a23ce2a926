package tcp

import (
	"testing"
	"time"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
)

// sentSeg is a data segment one side sent, as the harness saw it.
type sentSeg struct {
	seq, n int
	flags  uint8
	ok     bool // checksum valid as sent
}

// recordData records the data segments side from sends, and whether their
// checksums verify as they left (they do not when left to the device).
func recordData(n *testNet, from int) *[]sentSeg {
	var got []sentSeg
	src, dst := addrA, addrB
	if from == 1 {
		src, dst = dst, src
	}
	n.tap = func(f int, data []byte) {
		h, err := ParseHeader(data)
		if err != nil || f != from || len(h.Payload()) == 0 {
			return
		}
		ok := checksum.Fold(checksum.Sum(data, checksum.Pseudo(src, dst, inet.ProtoTCP, len(data)))) == 0xffff
		got = append(got, sentSeg{int(h.Seq()), len(h.Payload()), h.Flags(), ok})
	}
	return &got
}

// TestTSOSegmentSizes: with a device that does TSO, a bulk sender hands it
// segments of whole SMSS up to the device's limit (less headers), leaving
// the checksum to it; what the windows leave over goes later, in whole
// segments too, and only the end of the data may be short.
func TestTSOSegmentSizes(t *testing.T) {
	n := newTestNetOffload(t, 3, faults{delay: 5 * time.Millisecond}, Config{}, Config{}, offloads)
	a, b := n.connect(80)
	segs := recordData(n, 0)
	const size = 4 << 20
	transfer(t, n, a, b, size, 10*time.Second, time.Hour)
	var smss, limit int
	n.lockedDo(0, func(*Layer) { smss, limit = a.smss(), a.tsoLimit() })
	if limit != 65535-20-20-12-(65535-20-20-12)%smss {
		t.Fatalf("tsoLimit %d with SMSS %d", limit, smss)
	}
	large, total := 0, 0
	for i, s := range *segs {
		total += s.n
		if s.ok {
			t.Fatalf("segment %d: checksum computed although the device does it", i)
		}
		if s.n > limit {
			t.Fatalf("segment %d: %d bytes, over the TSO limit %d", i, s.n, limit)
		}
		if s.n > smss {
			large++
			if s.n%smss != 0 && s.flags&FlagPSH == 0 {
				t.Errorf("segment %d: %d bytes, not whole segments of %d, and not the end of the data", i, s.n, smss)
			}
		}
	}
	st := n.ends[0].l.StatsLocked()
	t.Logf("%d data segments, %d of them TSO (%d in stats), %d bytes; SMSS %d, limit %d", len(*segs), large, st.LargeSegmentsOut, total, smss, limit)
	if large == 0 || uint64(large) != st.LargeSegmentsOut || large*4 < len(*segs) {
		t.Errorf("%d of %d segments large (stats %d): TSO hardly used", large, len(*segs), st.LargeSegmentsOut)
	}
	if got := n.ends[1].l.StatsLocked(); got.LargeSegmentsIn == 0 || got.ChecksumsOffloaded == 0 {
		t.Errorf("receiver: %d large segments in, %d checksums taken as verified", got.LargeSegmentsIn, got.ChecksumsOffloaded)
	}
}

// TestTSOWithinWindow: a TSO segment never goes past the peer's window.
func TestTSOWithinWindow(t *testing.T) {
	rcv := Config{RecvBuffer: 20000, DisableWindowScale: true}
	n := newTestNetOffload(t, 4, faults{delay: time.Millisecond}, Config{}, rcv, offloads)
	a, b := n.connect(80)
	segs := recordData(n, 0)
	transfer(t, n, a, b, 1<<20, 10*time.Second, time.Hour)
	large := 0
	for i, s := range *segs {
		if s.n > 20000 {
			t.Fatalf("segment %d: %d bytes into a 20000-byte window", i, s.n)
		}
		if s.n > 1448 {
			large++
		}
	}
	if large == 0 {
		t.Fatal("no TSO segment at all")
	}
}

// TestNoTSOWithoutOffload: Config.DisableOffload, or a device without
// offloads, gets segments of at most SMSS with their checksums.
func TestNoTSOWithoutOffload(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    func() *testNet
	}{
		{"DisableOffload", func() *testNet {
			return newTestNetOffload(t, 5, faults{}, Config{DisableOffload: true}, Config{DisableOffload: true}, offloads)
		}},
		{"device without offloads", func() *testNet { return newTestNet(t, 5, faults{}, Config{}, Config{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.n()
			a, b := n.connect(80)
			segs := recordData(n, 0)
			transfer(t, n, a, b, 1<<20, 10*time.Second, time.Hour)
			smss := 0
			n.lockedDo(0, func(*Layer) { smss = a.smss() })
			for i, s := range *segs {
				if s.n > smss || !s.ok {
					t.Fatalf("segment %d: %d bytes (SMSS %d), checksum valid %v", i, s.n, smss, s.ok)
				}
			}
			if st := n.ends[0].l.StatsLocked(); st.LargeSegmentsOut+st.ChecksumsOffloaded != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestTSOAfterRTO: after a timeout the flight is sent again, and as the
// window opens the retransmissions go out as TSO segments too.
func TestTSOAfterRTO(t *testing.T) {
	n := newTestNetOffload(t, 6, faults{delay: 5 * time.Millisecond}, Config{}, Config{}, offloads)
	a, b := n.connect(80)
	for range 4 {
		n.request(t, 0, a, b, make([]byte, 100000)) // open the window
	}
	segs := recordData(n, 0)
	blackhole := true
	n.drop = func(from int, _ []byte) bool { return blackhole && from == 0 }
	var una uint32
	n.lockedDo(0, func(*Layer) { una = a.sndMax })
	n.lockedDo(0, func(*Layer) {
		if k := a.tryWrite(make([]byte, 100000)); k != 100000 {
			t.Fatalf("tryWrite %d", k)
		}
	})
	n.run(50*time.Millisecond, func() bool { return false })
	blackhole = false
	n.settleAcks(t, 0, a)
	var first, resent, large int
	for _, s := range *segs {
		if uint32(s.seq)-una < 100000 {
			if first < 100000 {
				first += s.n
				continue
			}
			resent++
			if s.n > a.smss() {
				large++
			}
		}
	}
	st := n.ends[0].l.StatsLocked()
	t.Logf("%d segments resent, %d of them TSO; %d RTOs", resent, large, st.RTOEvents)
	if st.RTOEvents == 0 || resent == 0 || large == 0 {
		t.Fatalf("after the RTO: %d resent, %d large, %d RTOs", resent, large, st.RTOEvents)
	}
	buf := make([]byte, 64<<10)
	got := 0
	n.run(time.Minute, func() bool {
		n.lockedDo(1, func(*Layer) { m, _ := b.tryRead(buf); got += m })
		return got == 100000
	})
	if got != 100000 {
		t.Fatalf("%d of 100000 bytes delivered", got)
	}
}

// TestLargeSegmentAckedAtOnce: a segment larger than our MSS, as a device
// merges them, is acknowledged at once, as two full-sized segments would
// be (RFC 5681 §4.2), not after the delayed-ACK timer.
func TestLargeSegmentAckedAtOnce(t *testing.T) {
	p := newPeer(t, Config{QuickAcks: 1})
	_, iss := p.open(nil)
	seq := uint32(peerISN + 1)
	for i := range 2 {
		p.send(seg{sport: 5000, dport: 80, seq: seq, ack: iss + 1, flags: FlagACK, wnd: 65535, data: make([]byte, 1000)})
		seq += 1000
		if i == 0 {
			p.expect(FlagACK, u32(iss+1), u32(seq)) // the quick ACK
		} else {
			p.none() // one small segment: the ACK is delayed
		}
	}
	p.send(seg{sport: 5000, dport: 80, seq: seq, ack: iss + 1, flags: FlagACK, wnd: 65535, data: make([]byte, 10000)})
	p.expect(FlagACK, u32(iss+1), u32(seq+10000))
	if st := p.e.l.StatsLocked(); st.LargeSegmentsIn != 1 {
		t.Fatalf("LargeSegmentsIn %d", st.LargeSegmentsIn)
	}
}
