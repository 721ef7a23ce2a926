package impair

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// sink is a netif.Device that records what is transmitted and lets the test
// inject received frames.
type sink struct {
	mu   sync.Mutex
	sent [][]byte
	offs []pkt.Offload // the offloads each sent frame asked for
	keep bool          // record copies of sent frames (off for allocation tests)
	h    netif.Handler
	off  netif.Offloads
}

func (s *sink) MAC() inet.MAC              { return inet.MAC{2, 0, 0, 0, 0, 1} }
func (s *sink) MTU() int                   { return 1500 }
func (s *sink) Headroom() int              { return 0 }
func (s *sink) Offloads() netif.Offloads   { return s.off }
func (s *sink) LinkUp() bool               { return true }
func (s *sink) SetHandler(h netif.Handler) { s.h = h }
func (s *sink) Stats() netif.Stats         { return netif.Stats{} }
func (s *sink) Close() error               { return nil }
func (s *sink) Transmit(b *pkt.Buf) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keep {
		f := make([]byte, b.Len())
		b.CopyTo(f)
		s.sent = append(s.sent, f)
		s.offs = append(s.offs, b.Offload())
	}
	return nil
}

func (s *sink) frames() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.sent...)
}

// newTx wraps a recording sink with spec in the transmit direction.
func newTx(spec Spec) (*Device, *sink, *clock.Virtual) {
	s := &sink{keep: true}
	clk := clock.NewVirtual(epoch)
	spec.Dir = Tx
	return Wrap(s, spec, clk), s, clk
}

// frame returns an n-byte frame carrying seq after the Ethernet header.
func frame(seq uint32, n int) *pkt.Buf {
	b := pkt.New(2048, 0)
	f := b.Append(n)
	copy(f, inet.BroadcastMAC[:])
	f[6], f[12], f[13] = 2, 0x88, 0xb5
	binary.BigEndian.PutUint32(f[14:], seq)
	for i := 18; i < n; i++ {
		f[i] = byte(i)
	}
	return b
}

func seqOf(f []byte) uint32 { return binary.BigEndian.Uint32(f[14:]) }

// sendN transmits frames 0..n-1 of size 100.
func sendN(d *Device, n int) {
	for i := range n {
		d.Transmit(frame(uint32(i), 100))
	}
}

func virtualClock() *clock.Virtual { return clock.NewVirtual(epoch) }

// recorder notes the virtual time at which each frame reaches the device.
type recorder struct {
	*sink
	clk *clock.Virtual
	at  *[]time.Duration
}

func (r *recorder) Transmit(b *pkt.Buf) error {
	*r.at = append(*r.at, r.clk.Now().Sub(epoch))
	return nil
}
