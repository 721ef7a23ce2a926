package memlink

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/mirago/mirago/stack/netif"
)

// BenchmarkTransmit measures one-way throughput of 64- and 1514-byte frames
// from one sender to one receiver, with Backpressure so no frame is lost:
// the sender yields and retries on ErrBusy.
func BenchmarkTransmit(b *testing.B) {
	for _, size := range []int{64, 1514} {
		b.Run(map[int]string{64: "64B", 1514: "1514B"}[size], func(b *testing.B) {
			s := NewSwitch(Config{Backpressure: true})
			defer s.Close()
			tx, rx := s.NewPort(macA, 0), s.NewPort(macB, 0)
			var got atomic.Int64
			done := make(chan struct{})
			want := int64(b.N)
			rx.SetHandler(func([]byte, netif.RxMeta) {
				if got.Add(1) == want {
					close(done)
				}
			})
			f := frame(macB, macA, make([]byte, size-14), false)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			busy := 0
			for i := 0; i < b.N; i++ {
				for tx.Transmit(f) == netif.ErrBusy {
					busy++
					runtime.Gosched() // let the receiver drain, even with one P
				}
			}
			<-done
			b.ReportMetric(float64(busy)/float64(b.N), "busy/op")
		})
	}
}

// BenchmarkPingPong measures a round trip: A sends, B's handler answers
// from its delivery goroutine, A's handler signals the sender.
func BenchmarkPingPong(b *testing.B) {
	s := NewSwitch(Config{})
	defer s.Close()
	a, p := s.NewPort(macA, 0), s.NewPort(macB, 0)
	reply := frame(macA, macB, make([]byte, 50), false)
	p.SetHandler(func([]byte, netif.RxMeta) { p.Transmit(reply) })
	back := make(chan struct{}, 1)
	a.SetHandler(func([]byte, netif.RxMeta) { back <- struct{}{} })
	f := frame(macB, macA, make([]byte, 50), false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.Transmit(f)
		<-back
	}
}
