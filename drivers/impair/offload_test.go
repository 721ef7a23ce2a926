package impair

import (
	"bytes"
	"math/bits"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// partialFrame is a TSO-marked frame whose TCP-style checksum at 34+16 is
// left to the device: 14 bytes of Ethernet, 20 of "IP", 20 of TCP header,
// then payload.
func partialFrame(n int) *pkt.Buf {
	b := pkt.New(n+64, 64)
	seg := b.Append(n - 14)
	for i := range seg {
		seg[i] = byte(i*7 + 3)
	}
	b.TrimFront(20)
	ps := checksum.Fold(pseudo(n - 34))
	tcp := b.Bytes()
	tcp[16], tcp[17] = byte(ps>>8), byte(ps)
	b.SetPartialChecksum(16)
	b.SetGSO(pkt.GSOTCPv4, 1000, 20)
	b.Prepend(20)
	h, _ := b.Prepend(14)
	copy(h, inet.BroadcastMAC[:])
	h[6], h[12], h[13] = 2, 0x08, 0x00
	return b
}

func pseudo(l int) uint32 {
	return checksum.Pseudo(inet.AddrFrom4(inet.Addr4{1, 2, 3, 4}), inet.AddrFrom4(inet.Addr4{5, 6, 7, 8}), 6, l)
}

func tcpVerifies(f []byte) bool {
	return checksum.Fold(checksum.Sum(f[34:], pseudo(len(f)-34))) == 0xffff
}

// TestCorruptCompletesPartialChecksum: a frame whose checksum is left to
// the device is checksummed before its bit is flipped, so the receiver
// can see the corruption; its segmentation request is kept.
func TestCorruptCompletesPartialChecksum(t *testing.T) {
	s := &sink{keep: true, off: netif.Offloads{TxChecksum: true, TSO4Max: 65535, RxChecksum: true}}
	d := Wrap(s, Spec{Dir: Tx, Corrupt: 1, Seed: 3}, virtualClock())
	for i := range 50 {
		if err := d.Transmit(partialFrame(3000 + i)); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range s.frames() {
		want := partialFrame(3000 + i)
		want.FinishChecksum()
		if o := s.offs[i]; o.NeedsCsum || o.GSO != pkt.GSOTCPv4 || o.GSOSize != 1000 || o.HdrLen != 54 {
			t.Fatalf("frame %d sent with offloads %+v", i, o)
		}
		diff := 0
		pos := 0
		for j := range f {
			if d := bits.OnesCount8(f[j] ^ want.Bytes()[j]); d > 0 {
				diff += d
				pos = j
			}
		}
		if diff != 1 {
			t.Fatalf("frame %d differs in %d bits from the checksummed original", i, diff)
		}
		if tcpVerifies(f) != (pos < 34) {
			t.Fatalf("frame %d: bit flipped at byte %d, checksum verifies %v", i, pos, tcpVerifies(f))
		}
	}
}

// TestHeldFramesKeepOffloads: a delayed transmit frame keeps its partial
// checksum and TSO request; a delayed received frame keeps its metadata,
// and a corrupted one loses CsumVerified.
func TestHeldFramesKeepOffloads(t *testing.T) {
	s := &sink{keep: true, off: netif.Offloads{TxChecksum: true, TSO4Max: 65535, RxChecksum: true}}
	clk := virtualClock()
	d := Wrap(s, Spec{Delay: time.Millisecond}, clk)
	var got []netif.RxMeta
	d.SetHandler(func(_ []byte, m netif.RxMeta) { got = append(got, m) })
	in := partialFrame(4000)
	d.Transmit(in)
	raw := make([]byte, in.Len())
	in.CopyTo(raw)
	verified := netif.RxMeta{CsumVerified: true, SegSize: 1448}
	s.h(raw, verified)
	clk.Advance(2 * time.Millisecond)
	if len(s.offs) != 1 || s.offs[0] != in.Offload() {
		t.Fatalf("delayed frame sent with %+v, want %+v", s.offs, in.Offload())
	}
	if !bytes.Equal(s.frames()[0], raw) {
		t.Fatal("delayed frame changed")
	}
	if len(got) != 1 || got[0] != verified {
		t.Fatalf("delayed received frame delivered with %+v", got)
	}

	c := Wrap(s, Spec{Dir: Rx, Corrupt: 1}, clk)
	got = nil
	c.SetHandler(func(_ []byte, m netif.RxMeta) { got = append(got, m) })
	s.h(raw, verified)
	if len(got) != 1 || got[0].CsumVerified || got[0].SegSize != 1448 {
		t.Fatalf("corrupted received frame delivered with %+v", got)
	}
}
