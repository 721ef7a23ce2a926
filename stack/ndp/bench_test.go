package ndp

import (
	"testing"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/pkt"
)

// BenchmarkOutput is the per-packet cost of Output once resolved: to a
// neighbor on the link, and through the default router.
func BenchmarkOutput(b *testing.B) {
	for _, c := range []struct {
		name string
		dst  inet.Addr
	}{{"neighbor", llN}, {"router", remote}} {
		b.Run(c.name, func(b *testing.B) {
			h := newHarness(&testing.T{}, Config{}).started()
			_, _, raMsg := icmpOf(&testing.T{}, goldenRA)
			h.input(llR, inet.IPv6AllNodes, raMsg)
			h.output(llUs, c.dst, 1)
			h.input(llN, llUs, na(llN, true, true, false, macN))
			h.input(llR, llUs, na(llR, true, true, true, macR))
			h.dev.record = false
			h.mu.Lock()
			defer h.mu.Unlock()
			buf := pkt.New(1600, h.nd.Headroom())
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				buf.Reset(h.nd.Headroom())
				m := buf.Append(ipv6.HeaderLen + 1200)
				f := ipv6.Fields{PayloadLen: 1200, NextHeader: 59, HopLimit: 64, Src: llUs, Dst: c.dst}
				f.Encode(m)
				if err := h.nd.Output(c.dst, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
