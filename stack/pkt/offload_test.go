package pkt

import (
	"testing"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
)

// TestOffloadOffsetsFollowPrepend: a transport marks its checksum and
// segmentation with its header at the front; lower layers then prepend
// theirs and the driver reads offsets from the new front.
func TestOffloadOffsetsFollowPrepend(t *testing.T) {
	b := New(128, 64)
	tcp, _ := b.Prepend(20)
	_ = tcp
	b.Attach(make([]byte, 3000))
	b.SetPartialChecksum(16)
	b.SetGSO(GSOTCPv4, 1448, 20)
	b.Prepend(20) // IPv4
	b.Prepend(14) // Ethernet
	want := Offload{NeedsCsum: true, CsumStart: 34, CsumOffset: 16, GSO: GSOTCPv4, GSOSize: 1448, HdrLen: 54}
	if got := b.Offload(); got != want {
		t.Fatalf("Offload() = %+v, want %+v", got, want)
	}
	c := New(4000, 10)
	c.Append(b.Len())
	c.SetOffload(b.Offload())
	if got := c.Offload(); got != want {
		t.Fatalf("copied Offload() = %+v, want %+v", got, want)
	}
	c.ClearGSO()
	if got := c.Offload(); got.GSO != GSONone || got.HdrLen != 0 || !got.NeedsCsum {
		t.Fatalf("after ClearGSO: %+v", got)
	}
	b.Reset(0)
	if got := b.Offload(); got != (Offload{}) {
		t.Fatalf("after Reset: %+v", got)
	}
}

// TestFinishChecksum completes a partial TCP-style checksum over a
// contiguous header and two attachments of odd lengths, and compares it
// with the checksum of the flattened bytes.
func TestFinishChecksum(t *testing.T) {
	for _, lens := range [][2]int{{0, 0}, {1, 0}, {7, 3}, {1448, 1449}, {33, 0}} {
		b := New(64, 40)
		h, _ := b.Prepend(20)
		for i := range h {
			h[i] = byte(i * 7)
		}
		pseudo := checksum.Pseudo(inet.AddrFrom4(inet.Addr4{10, 0, 0, 1}), inet.AddrFrom4(inet.Addr4{10, 0, 0, 2}), 6, 20+lens[0]+lens[1])
		h[16], h[17] = 0, 0
		ps := checksum.Fold(pseudo)
		h[16], h[17] = byte(ps>>8), byte(ps)
		p1, p2 := make([]byte, lens[0]), make([]byte, lens[1])
		for i := range p1 {
			p1[i] = byte(i*13 + 1)
		}
		for i := range p2 {
			p2[i] = byte(i*31 + 5)
		}
		b.Attach(p1)
		b.Attach(p2)
		b.SetPartialChecksum(16)
		b.Prepend(14)
		if !b.FinishChecksum() {
			t.Fatal("FinishChecksum failed")
		}
		if b.Offload().NeedsCsum {
			t.Fatal("still partial after FinishChecksum")
		}
		flat := make([]byte, b.Len())
		b.CopyTo(flat)
		seg := flat[14:]
		if got := checksum.Fold(checksum.Sum(seg, pseudo)); got != 0xffff {
			t.Errorf("lens %v: segment does not verify (sum %#x)", lens, got)
		}
	}
}

func TestFinishChecksumOutOfRange(t *testing.T) {
	b := New(64, 40)
	b.Prepend(10)
	b.SetPartialChecksum(16) // field beyond the contiguous bytes
	if b.FinishChecksum() {
		t.Fatal("FinishChecksum wrote outside the contiguous part")
	}
	if !b.Offload().NeedsCsum {
		t.Fatal("a failed FinishChecksum cleared the request")
	}
}

func TestOffloadNoAllocs(t *testing.T) {
	b := New(256, 128)
	payload := make([]byte, 100)
	if n := testing.AllocsPerRun(100, func() {
		b.Reset(128)
		b.Prepend(20)
		b.Attach(payload)
		b.SetPartialChecksum(16)
		b.SetGSO(GSOTCPv4, 50, 20)
		b.Prepend(34)
		_ = b.Offload()
		b.FinishChecksum()
	}); n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
}
