package tcp

import (
	"testing"
	"time"
)

// RFC 6582 §3.2: "recover" is the highest sequence number sent when
// recovery began, and a new fast retransmit needs the cumulative ACK to
// cover more than it. A recovery that ends with an ACK of exactly
// everything sent must not block fast retransmit in the next flight (it
// did: the next request's loss waited for the RTO).
func TestFastRetransmitAfterFullRecovery(t *testing.T) {
	for _, sack := range []bool{true, false} {
		name := "sack"
		if !sack {
			name = "nosack"
		}
		t.Run(name, func(t *testing.T) {
			cfg := Config{MinRTO: time.Second, DisableTLP: true, DisableSACK: !sack}
			n := newTestNet(t, 11, faults{delay: 10 * time.Millisecond}, cfg, cfg)
			a, b := n.connect(80)
			for i := 0; i < 3; i++ {
				n.request(t, 0, a, b, make([]byte, 100))
				n.request(t, 1, b, a, make([]byte, 100))
			}
			n.settleAcks(t, 0, a)
			for round := 1; round <= 2; round++ {
				var seg, una uint32
				n.lockedDo(0, func(*Layer) { seg, una = uint32(a.smss()), a.sndUna })
				// Ten segments, the first lost: nine duplicate ACKs
				// start fast recovery, and its full ACK covers all ten,
				// so the next round's duplicate ACKs carry exactly the
				// ACK that ended this recovery.
				n.dropFirst(0, una)
				d := n.request(t, 0, a, b, make([]byte, 10*seg))
				n.settleAcks(t, 0, a)
				st := n.ends[0].l.lockedStats()
				if st.FastRetransmits != uint64(round) || st.RTOEvents != 0 || d > time.Second/2 {
					t.Fatalf("round %d: repaired after %v with %d fast retransmits and %d RTOs, want %d and 0",
						round, d, st.FastRetransmits, st.RTOEvents, round)
				}
				// A response, as in request/response traffic.
				n.request(t, 1, b, a, make([]byte, 100))
				n.settleAcks(t, 1, b)
			}
		})
	}
}

// RFC 6675 §2: with SACK, an ACK that carries new SACK information is a
// duplicate ACK for loss detection even if it also advances SND.UNA: the
// receiver held the ACK of the first segment (delayed ACK) and sent it
// with the SACK of a segment that arrived above a hole. A short request
// with its middle segment lost then recovers by fast retransmit (RFC 5827
// early retransmit), not by the RTO.
func TestAdvancingAckWithNewSACK(t *testing.T) {
	for _, segs := range []uint32{3, 4} {
		t.Run(string(rune('0'+segs))+"segs", func(t *testing.T) {
			cfg := Config{MinRTO: time.Second}
			n := newTestNet(t, 13, faults{delay: 10 * time.Millisecond}, cfg, cfg)
			a, b := n.connect(80)
			// Past the receiver's quick ACKs (16 segments), so that it
			// delays the ACK of a lone in-order segment.
			for i := 0; i < 20; i++ {
				n.request(t, 0, a, b, make([]byte, 100))
				n.request(t, 1, b, a, make([]byte, 100))
			}
			n.settleAcks(t, 0, a)
			var seg, una uint32
			n.lockedDo(0, func(*Layer) { seg, una = uint32(a.smss()), a.sndUna })
			n.dropFirst(0, una+seg)
			d := n.request(t, 0, a, b, make([]byte, segs*seg))
			st := n.ends[0].l.lockedStats()
			if st.FastRetransmits != 1 || st.RTOEvents != 0 || d > time.Second/2 {
				t.Fatalf("repaired after %v with %d fast retransmits, %d RTOs, %d probes; want a fast retransmit",
					d, st.FastRetransmits, st.RTOEvents, st.TailLossProbes)
			}
		})
	}
}
