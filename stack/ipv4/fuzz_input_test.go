package ipv4_test

import (
	"bytes"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/icmp"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/transport"
)

// checkLink checks every datagram the stack sends.
type checkLink struct {
	t    *testing.T
	sent int
}

func (c *checkLink) Output(next inet.Addr4, b *pkt.Buf) error {
	c.sent++
	d := make([]byte, b.Len())
	b.CopyTo(d)
	h, err := ipv4.ParseHeader(d)
	if err != nil || len(h) != len(d) || !h.ValidChecksum() || len(d) > c.MTU() {
		c.t.Fatalf("sent a bad datagram (%v): %x", err, d)
	}
	if h.Protocol() == inet.ProtoICMP {
		m, err := icmp.ParseMessage(h.Payload())
		if err != nil || !m.ValidChecksum() {
			c.t.Fatalf("sent bad ICMP: %x", d)
		}
		// RFC 1122 §3.2.2: never an error to a source that is not a
		// unique host (0/8, loopback, multicast, class E, broadcast).
		if d := h.Dst(); icmp.IsError(m.Type()) && (d.IsReserved() || d.IsMulticast() || d.IsLoopback() || d[0] == 0) {
			c.t.Fatalf("ICMP error to %v", h.Dst())
		}
	}
	return nil
}
func (c *checkLink) Headroom() int            { return 14 }
func (c *checkLink) Offloads() netif.Offloads { return netif.Offloads{} }
func (c *checkLink) MTU() int                 { return 1500 }

type sink struct{}

func (sink) Deliver(p *transport.Packet) {
	if len(p.Payload) > 65535-20 || len(p.Header) < 20 {
		panic("bad packet")
	}
}
func (sink) Error(e *transport.ControlError) { _ = e.Quoted }

// FuzzIPv4Input feeds a sequence of datagrams through ipv4 and icmp. The
// input is records of a 2-byte big-endian length then that many bytes; a
// length with the top bit set also advances the clock by 10s afterwards.
func FuzzIPv4Input(f *testing.F) {
	f.Fuzz(runOne)
}

func runOne(t *testing.T, in []byte) {
	{
		clk := clock.NewVirtual(time.Unix(0, 0))
		q := timer.New(clk, &sync.Mutex{})
		link := &checkLink{t: t}
		cfg := ipv4.Config{Rand: bytes.NewReader([]byte{1, 2}), ReasmMemory: 16 << 10, ReasmDatagrams: 4}
		ip := ipv4.New(link, q, cfg)
		ip.SetAddr(inet.Prefix4{Addr: inet.MustParseAddr4("10.0.2.15"), Bits: 24})
		ip.SetGateway(inet.MustParseAddr4("10.0.2.2"))
		ip.Register(inet.ProtoUDP, sink{})
		ip.Register(inet.ProtoTCP, sink{})
		ic := icmp.New(ip, q, icmp.Config{Quote: 64})
		ip.Register(inet.ProtoICMP, ic)
		ip.SetICMP(ic)
		src, dst := inet.MAC{2, 0, 0, 0, 0, 1}, inet.MAC{2, 0, 0, 0, 0, 2}
		for len(in) >= 2 {
			n := int(binary.BigEndian.Uint16(in))
			adv := n&0x8000 != 0
			n &= 0x7fff
			in = in[2:]
			if n > len(in) {
				n = len(in)
			}
			ip.Input(src, dst, in[:n], netif.RxMeta{})
			in = in[n:]
			if adv {
				clk.Advance(10 * time.Second)
			}
			s := ip.StatsLocked()
			if s.ReasmMemory > uint64(cfg.ReasmMemory) || s.ReasmPending > uint64(cfg.ReasmDatagrams) {
				t.Fatalf("reassembly over its caps: %+v", s)
			}
		}
		clk.Advance(time.Minute)
		if s := ip.StatsLocked(); s.ReasmPending != 0 || s.ReasmMemory != 0 {
			t.Fatalf("reassembly not empty after timeout: %+v", s)
		}
	}
}
