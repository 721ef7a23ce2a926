package ipv6_test

import (
	"bytes"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/transport"
)

var (
	fzOurLL   = inet.MustParseAddr("fe80::1")
	fzOurAddr = inet.MustParseAddr("2001:db8::15")
	fzPeer    = inet.MustParseAddr("2001:db8::2")
)

// checkLink checks every packet the layer sends: a whole IPv6 packet no
// larger than the MTU, from one of our addresses; ICMPv6 with a correct
// checksum, errors only to one unique node and never about an ICMPv6
// error (RFC 4443 §2.4 (e)).
type checkLink struct {
	t    *testing.T
	sent int
}

func (c *checkLink) Output(dst inet.Addr, b *pkt.Buf) error {
	c.sent++
	d := make([]byte, b.Len())
	b.CopyTo(d)
	h, err := ipv6.ParseHeader(d)
	if err != nil || len(h) != len(d) || len(d) > c.MTU() || h.Dst() != dst {
		c.t.Fatalf("sent a bad packet (%v): %x", err, d)
	}
	if s := h.Src(); s != fzOurLL && s != fzOurAddr {
		c.t.Fatalf("sent from %v", s)
	}
	if h.NextHeader() != inet.ProtoICMPv6 {
		return nil
	}
	m, err := icmpv6.ParseMessage(h.Payload())
	if err != nil || !m.ValidChecksum(h.Src(), h.Dst()) {
		c.t.Fatalf("sent bad ICMPv6: %x", d)
	}
	if icmpv6.IsError(m.Type()) {
		if d := h.Dst(); d.IsMulticast() || d.IsUnspecified() || !d.Is6() || d.IsLoopback() {
			c.t.Fatalf("ICMPv6 error to %v", d)
		}
		q, err := ipv6.ParseQuoted(m.Body())
		if err != nil {
			c.t.Fatalf("error quotes no IPv6 header: %x", d)
		}
		if len(m) > 1280-40 {
			c.t.Fatalf("error of %d bytes, over the minimum MTU", len(d))
		}
		if proto, off, ok := ipv6.UpperLayer(q, 8); ok && proto == inet.ProtoICMPv6 && off < len(q) && icmpv6.IsError(q[off]) {
			c.t.Fatalf("error about an ICMPv6 error: %x", d)
		}
	}
	return nil
}
func (c *checkLink) Headroom() int            { return 14 }
func (c *checkLink) Offloads() netif.Offloads { return netif.Offloads{} }
func (c *checkLink) MTU() int                 { return 1500 }

type sink struct{ t *testing.T }

func (s sink) Deliver(p *transport.Packet) {
	if len(p.Header) < 40 || len(p.Header) > 40+65535 || len(p.Payload) > len(p.Header)-40 {
		s.t.Fatalf("delivered %d bytes of %d", len(p.Payload), len(p.Header))
	}
}
func (sink) Error(e *transport.ControlError) { _ = e.Quoted }

// FuzzIPv6Input feeds a sequence of packets through ipv6 and icmpv6 (the
// extension-header walk, reassembly, errors). The input is records of a
// 2-byte big-endian length then that many bytes; a length with the top
// bit set also advances the clock by 10s afterwards, and one with the
// next bit set comes in a link-layer multicast frame. Seeds:
// testdata/fuzz/FuzzIPv6Input.
func FuzzIPv6Input(f *testing.F) {
	f.Fuzz(runInput)
}

func runInput(t *testing.T, in []byte) {
	clk := clock.NewVirtual(time.Unix(0, 0))
	q := timer.New(clk, &sync.Mutex{})
	link := &checkLink{t: t}
	cfg := ipv6.Config{Rand: bytes.NewReader(make([]byte, 16)), ReasmMemory: 16 << 10, ReasmPacketMemory: 8 << 10, ReasmPackets: 4, PMTUEntries: 4}
	ip := ipv6.New(link, q, cfg)
	ip.AddAddrLocked(inet.Prefix6{Addr: fzOurLL, Bits: 64}, ipv6.StatePreferred)
	ip.AddAddrLocked(inet.Prefix6{Addr: fzOurAddr, Bits: 64}, ipv6.StatePreferred)
	ip.JoinGroupLocked(inet.SolicitedNode(fzOurAddr))
	ip.Register(inet.ProtoUDP, sink{t})
	ip.Register(inet.ProtoTCP, sink{t})
	ic := icmpv6.New(ip, q, icmpv6.Config{Rate: 1000, Burst: 1000})
	ip.Register(inet.ProtoICMPv6, ic)
	ip.SetICMP(ic)
	ic.Register(icmpv6.TypeNeighborSolicit, func(p *transport.Packet, m icmpv6.Message) { _ = m.Body() })
	src, dst := inet.MAC{2, 0, 0, 0, 0, 1}, inet.MAC{2, 0, 0, 0, 0, 2}
	for len(in) >= 2 {
		n := int(binary.BigEndian.Uint16(in))
		adv, mc := n&0x8000 != 0, n&0x4000 != 0
		n &= 0x3fff
		in = in[2:]
		if n > len(in) {
			n = len(in)
		}
		d := dst
		if mc {
			d = inet.MAC{0x33, 0x33, 0, 0, 0, 1}
		}
		ip.Input(src, d, in[:n], netif.RxMeta{})
		in = in[n:]
		if adv {
			clk.Advance(10 * time.Second)
		}
		s := ip.StatsLocked()
		if s.ReasmMemory > uint64(cfg.ReasmMemory) || s.ReasmPending > uint64(cfg.ReasmPackets) || s.PMTUEntries > 4 {
			t.Fatalf("over its caps: %+v", s)
		}
		if m := ip.MTU(fzPeer); m < 1280 || m > 1500 {
			t.Fatalf("path MTU %d", m)
		}
	}
	clk.Advance(2 * time.Minute)
	if s := ip.StatsLocked(); s.ReasmPending != 0 || s.ReasmMemory != 0 {
		t.Fatalf("reassembly not empty after the timeout: %+v", s)
	}
}
