package icmp

import (
	"bytes"
	"testing"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/netif"
)

// FuzzICMP feeds b as the ICMP payload of a datagram to us. When fix is
// set the ICMP checksum is corrected first so the message gets past it.
func FuzzICMP(f *testing.F) {
	f.Add(goldenPing[20:], false, false)
	f.Add(goldenReply, false, true)
	f.Fuzz(func(t *testing.T, b []byte, fix, bcast bool) {
		e := newEnv(t, Config{})
		b = bytes.Clone(b)
		if m, err := ParseMessage(b); err == nil {
			_, _, _, _, _ = m.Type(), m.Code(), m.Rest(), m.Pointer(), m.Body()
			if fix {
				b[2], b[3] = 0, 0
				SetChecksum(b, 0)
				if !m.ValidChecksum() {
					t.Fatalf("checksum not fixed: %x (%x)", b, checksum.Sum(b, 0))
				}
			}
		}
		dst := ourAddr
		if bcast {
			dst = inet.IPv4Broadcast
		}
		if len(b) > 1400 {
			b = b[:1400]
		}
		e.ip.Input(peerMAC, ourMAC, datagram(ipv4.Fields{Protocol: inet.ProtoICMP, Src: peerAddr, Dst: dst}, b), netif.RxMeta{})
		for _, o := range e.link.out {
			h, err := ipv4.ParseHeader(o.data)
			if err != nil || !h.ValidChecksum() || h.Dst() != peerAddr {
				t.Fatalf("bad output %x", o.data)
			}
			m, err := ParseMessage(h.Payload())
			if err != nil || !m.ValidChecksum() {
				t.Fatalf("bad ICMP output %x", o.data)
			}
			if bcast {
				t.Fatal("answered a broadcast")
			}
			if m.Type() == TypeEchoReply && string(m.Body()) != string(b[8:]) {
				t.Fatal("echo data differs")
			}
		}
	})
}
