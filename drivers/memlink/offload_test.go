package memlink

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

type rxFrame struct {
	f    []byte
	meta netif.RxMeta
}

func metaCollector(n int) (netif.Handler, chan rxFrame) {
	ch := make(chan rxFrame, n)
	return func(f []byte, m netif.RxMeta) { ch <- rxFrame{bytes.Clone(f), m} }, ch
}

// gsoFrame is a frame of n bytes (header included) marked as a TSO frame
// with a partial checksum at byte 50 (as a TCP/IPv4 segment would be).
func gsoFrame(dst, src inet.MAC, n int) *pkt.Buf {
	payload := make([]byte, n-54)
	for i := range payload {
		payload[i] = byte(i)
	}
	b := pkt.New(128, 64)
	h, _ := b.Prepend(20)
	b.Attach(payload)
	b.SetPartialChecksum(16)
	b.SetGSO(pkt.GSOTCPv4, 1448, len(h))
	eip, _ := b.Prepend(34)
	copy(eip, dst[:])
	copy(eip[6:], src[:])
	eip[12], eip[13] = 0x08, 0x00
	return b
}

func TestOffloadCarriesLargeFramesWhole(t *testing.T) {
	s := NewSwitch(Config{Offload: true})
	defer s.Close()
	a, b := s.NewPort(macA, 0), s.NewPort(macB, 0)
	want := netif.Offloads{TxChecksum: true, TSO4Max: 65535, TSO6Max: 65575, RxChecksum: true, LargeReceive: 65589}
	if got := a.Offloads(); got != want {
		t.Fatalf("Offloads() = %+v, want %+v", got, want)
	}
	h, ch := metaCollector(8)
	b.SetHandler(h)
	big := gsoFrame(macB, macA, 65535+14)
	if err := a.Transmit(big); err != nil {
		t.Fatalf("Transmit of a 64 KiB TSO frame: %v", err)
	}
	// A small partial-checksum frame, and a plain one.
	small := gsoFrame(macB, macA, 200)
	small.ClearGSO()
	if err := a.Transmit(small); err != nil {
		t.Fatal(err)
	}
	if err := a.Transmit(frame(macB, macA, []byte("plain"), false)); err != nil {
		t.Fatal(err)
	}
	flat := make([]byte, big.Len())
	big.CopyTo(flat)
	for i, w := range []struct {
		n    int
		meta netif.RxMeta
	}{
		{65549, netif.RxMeta{CsumVerified: true, SegSize: 1448}},
		{200, netif.RxMeta{CsumVerified: true}},
		{19, netif.RxMeta{}},
	} {
		got := <-ch
		got.meta.More = false // whether the next was queued yet: TestBatchMarksMore
		if len(got.f) != w.n || got.meta != w.meta {
			t.Errorf("frame %d: %d bytes, %+v; want %d, %+v", i, len(got.f), got.meta, w.n, w.meta)
		}
		if i == 0 && !bytes.Equal(got.f, flat) {
			t.Error("the large frame arrived changed")
		}
	}
	// Larger than the IPv4 limit.
	if err := a.Transmit(gsoFrame(macB, macA, 65536+14)); !errors.Is(err, netif.ErrTooBig) {
		t.Errorf("oversized TSO frame: %v", err)
	}
}

func TestNoOffloadRefusesOffloadFrames(t *testing.T) {
	s := NewSwitch(Config{})
	defer s.Close()
	a, _ := s.NewPort(macA, 0), s.NewPort(macB, 0)
	if got := a.Offloads(); got != (netif.Offloads{}) {
		t.Fatalf("Offloads() = %+v without Config.Offload", got)
	}
	if err := a.Transmit(gsoFrame(macB, macA, 3000)); !errors.Is(err, netif.ErrTooBig) {
		t.Errorf("large TSO frame: %v, want ErrTooBig", err)
	}
	if err := a.Transmit(gsoFrame(macB, macA, 1000)); !errors.Is(err, ErrNoOffload) {
		t.Errorf("partial checksum: %v, want ErrNoOffload", err)
	}
}

// TestOffloadRingPacksFrames fills a port's ring with a mix of 64 KiB and
// small frames without a reader, then drains it: every frame that was
// accepted arrives intact and in order, and the ring refuses rather than
// overwrites when the slab is full.
func TestOffloadRingPacksFrames(t *testing.T) {
	s := NewSwitch(Config{Offload: true, Backpressure: true})
	defer s.Close()
	a, b := s.NewPort(macA, 0), s.NewPort(macB, 0)
	release := make(chan struct{})
	got := make(chan []byte, 100)
	b.SetHandler(func(f []byte, m netif.RxMeta) {
		<-release // hold the first frame until the ring has filled up
		got <- bytes.Clone(f)
	})
	var sent [][]byte
	busy := 0
	for i := 0; i < 60 && busy == 0; i++ {
		n := 65549
		if i%3 == 1 {
			n = 60 + i
		}
		f := gsoFrame(macB, macA, n)
		copy(f.Bytes()[40:], []byte{byte(i), byte(i >> 8)})
		switch err := a.Transmit(f); {
		case errors.Is(err, netif.ErrBusy):
			busy++
		case err != nil:
			t.Fatal(err)
		default:
			flat := make([]byte, f.Len())
			f.CopyTo(flat)
			sent = append(sent, flat)
		}
	}
	if busy == 0 {
		t.Fatal("the ring took 60 large frames: its slab is not bounded")
	}
	close(release)
	for i := range sent {
		select {
		case f := <-got:
			if !bytes.Equal(f, sent[i]) {
				t.Fatalf("frame %d of %d changed in the ring", i, len(sent))
			}
		case <-time.After(timeout):
			t.Fatalf("frame %d of %d never arrived", i, len(sent))
		}
	}
}
