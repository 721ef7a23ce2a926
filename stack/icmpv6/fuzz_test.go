package icmpv6

import (
	"bytes"
	"testing"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/transport"
)

// FuzzICMPv6 feeds b as the ICMPv6 message of a packet to us (to
// all-nodes in a multicast frame with mcast). With fix the checksum is
// corrected first so the message gets past it. Whatever is sent back is
// well formed and follows RFC 4443 §2.4. Seeds: testdata/fuzz/FuzzICMPv6.
func FuzzICMPv6(f *testing.F) {
	f.Add(goldenRequest, true, false)
	f.Add(goldenReply, false, false)
	f.Fuzz(func(t *testing.T, b []byte, fix, mcast bool) {
		e := newEnv(t, Config{})
		var handled int
		e.icmp.Register(TypeNeighborAdvert, func(p *transport.Packet, m Message) { handled++ })
		b = bytes.Clone(b)
		if len(b) > 1400 {
			b = b[:1400]
		}
		src, dst, mac := peerAddr, ourAddr, ourMAC
		if mcast {
			src, dst, mac = peerLL, inet.IPv6AllNodes, mcastMAC
		}
		if m, err := ParseMessage(b); err == nil {
			_, _, _, _, _ = m.Type(), m.Code(), m.Rest(), m.ID(), m.Body()
			if fix {
				SetChecksum(b, src, dst, 0, 0)
				if !m.ValidChecksum(src, dst) {
					t.Fatalf("checksum not fixed: %x", b)
				}
			}
		}
		e.input(peerMAC, mac, packet(src, dst, inet.ProtoICMPv6, b))
		for _, o := range e.link.out {
			h, err := ipv6.ParseHeader(o.data)
			if err != nil || h.NextHeader() != inet.ProtoICMPv6 || h.Dst() != src {
				t.Fatalf("bad output %x", o.data)
			}
			m, err := ParseMessage(h.Payload())
			if err != nil || !m.ValidChecksum(h.Src(), h.Dst()) {
				t.Fatalf("bad ICMPv6 output %x", o.data)
			}
			if m.Type() == TypeEchoReply && !bytes.Equal(m.Body(), b[8:]) {
				t.Fatal("echo data differs")
			}
			if IsError(m.Type()) {
				t.Fatalf("an error about an ICMPv6 message: %x", o.data)
			}
		}
		for _, e := range e.udp.errs {
			if e.Src != ourAddr || e.MTU != 0 && (e.MTU < 1280 || e.MTU > 1500) {
				t.Fatalf("control error %+v", e)
			}
		}
		_ = handled
	})
}
