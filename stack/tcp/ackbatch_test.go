package tcp

import (
	"testing"

	"github.com/mirago/mirago/stack/transport"
)

// sendBatch injects segs as one receive batch: every one but the last
// marked as followed by more (netif.RxMeta.More), then the batch's end,
// as the stack does for a driver's batch.
func (p *peer) sendBatch(segs ...seg) {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	for i, s := range segs {
		b := s.bytes(addrB, addrA)
		p.e.l.SetBatchLocked(i < len(segs)-1)
		p.e.l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: b})
	}
	p.e.l.EndBatchLocked()
}

// TestAckPerBatch checks that in-order full-sized segments of one receive
// batch get one cumulative ACK at the batch's end instead of one per two
// segments (ackbatch.go), that an out-of-order segment is still
// acknowledged at once inside a batch (RFC 5681 §4.2), and that without
// batches every second segment is acknowledged at once as before.
func TestAckPerBatch(t *testing.T) {
	const mss = 1460
	data := make([]byte, mss)
	p := newPeer(t, Config{QuickAcks: 1})
	c, iss := p.open(nil)
	defer c.Abort()
	seq := uint32(peerISN + 1)
	dataSeg := func(off uint32) seg {
		return seg{sport: 5000, dport: 80, seq: off, ack: iss + 1, flags: FlagACK, wnd: 65535, data: data}
	}
	// The quick ACK of the first segment.
	p.send(dataSeg(seq))
	seq += mss
	p.expect(FlagACK, nil, u32(seq))

	// Six segments in one batch: one ACK, for all of them, at its end.
	var batch []seg
	for range 6 {
		batch = append(batch, dataSeg(seq))
		seq += mss
	}
	p.sendBatch(batch...)
	p.expect(FlagACK, nil, u32(seq))
	p.none()
	if got := p.e.l.lockedStats().AcksBatched; got != 1 {
		t.Errorf("AcksBatched = %d, want 1", got)
	}

	// Without batches: every second segment is acknowledged at once.
	for i := range 4 {
		p.send(dataSeg(seq))
		seq += mss
		if i%2 == 1 {
			p.expect(FlagACK, nil, u32(seq))
		}
		p.none()
	}

	// A gap inside a batch: the segment after it gets its duplicate ACK
	// at once, the one filling it its ACK at once, and the batch adds
	// none at its end.
	p.sendBatch(dataSeg(seq+mss), dataSeg(seq))
	p.expect(FlagACK, nil, u32(seq))
	p.expect(FlagACK, nil, u32(seq+2*mss))
	p.none()
	seq += 2 * mss

	// A batch whose deferred ACK is carried by data we send meanwhile
	// needs none at its end.
	p.e.mu.Lock()
	p.e.l.SetBatchLocked(true)
	p.e.l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: dataSeg(seq).bytes(addrB, addrA)})
	seq += mss
	p.e.l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: dataSeg(seq).bytes(addrB, addrA)})
	seq += mss
	p.e.mu.Unlock()
	p.none()
	c.SetNoDelay(true)
	if _, err := c.Write([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	p.expect(FlagACK|FlagPSH, nil, u32(seq))
	p.e.mu.Lock()
	p.e.l.EndBatchLocked()
	p.e.mu.Unlock()
	p.none()
}
