package ipv4

import (
	"errors"
	"testing"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

// tsoBuf is a TCP-like segment of n bytes (20 of header) with its checksum
// left partial and, with mss > 0, a TSO request.
func tsoBuf(l *Layer, n, mss int) *pkt.Buf {
	b := pkt.New(l.Headroom()+20, l.Headroom())
	b.Append(20)
	b.Attach(seq(n - 20))
	b.SetPartialChecksum(16)
	if mss > 0 {
		b.SetGSO(pkt.GSOTCPv4, mss, 20)
	}
	return b
}

// TestWriteTSO: a TSO segment larger than the MTU goes whole to a link
// that segments it, with the IP IDs of all its segments used up; it is
// refused past the link's limit, for the wrong family, or without TSO.
func TestWriteTSO(t *testing.T) {
	e := newEnv(t, Config{})
	e.link.off = netif.Offloads{TxChecksum: true, TSO4Max: 65535}
	if err := e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoTCP, tsoBuf(e.l, 20+10*1448+7, 1448), transport.WriteOptions{DontFragment: true}); err != nil {
		t.Fatal(err)
	}
	if len(e.link.out) != 1 {
		t.Fatalf("%d datagrams sent, want the TSO segment whole", len(e.link.out))
	}
	h, err := ParseHeader(e.link.out[0].data)
	if err != nil || !h.ValidChecksum() || h.TotalLen() != 20+20+10*1448+7 || !h.DF() || h.ID() != 0x1234 {
		t.Fatalf("header %x: %v", []byte(h)[:20], err)
	}
	e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoTCP, buf(e.l, seq(10)), transport.WriteOptions{})
	if id := Header(e.link.out[1].data).ID(); id != 0x1234+11 {
		t.Errorf("next ID %#x, want %#x: the device used one per segment", id, 0x1234+11)
	}
	for _, tc := range []struct {
		name string
		b    *pkt.Buf
		off  netif.Offloads
	}{
		{"over the link's limit", tsoBuf(e.l, 30001, 1448), netif.Offloads{TxChecksum: true, TSO4Max: 30000}},
		{"over 64 KiB", tsoBuf(e.l, 65535-19, 1448), netif.Offloads{TxChecksum: true, TSO4Max: 65535}},
		{"no TSO on the link", tsoBuf(e.l, 3000, 1448), netif.Offloads{TxChecksum: true}},
		{"IPv6 segmentation", func() *pkt.Buf {
			b := tsoBuf(e.l, 3000, 1448)
			b.SetGSO(pkt.GSOTCPv6, 1428, 20)
			return b
		}(), netif.Offloads{TxChecksum: true, TSO4Max: 65535, TSO6Max: 65575}},
	} {
		e.link.off = tc.off
		if err := e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoTCP, tc.b, transport.WriteOptions{DontFragment: true}); !errors.Is(err, ErrMessageTooLong) {
			t.Errorf("%s: %v, want ErrMessageTooLong", tc.name, err)
		}
	}
}

// TestFragmentCompletesPartialChecksum: a datagram whose checksum was
// left to the device but has to be fragmented gets it computed first.
func TestFragmentCompletesPartialChecksum(t *testing.T) {
	e := newEnv(t, Config{})
	b := tsoBuf(e.l, 3000, 0)
	// The field holds the pseudo-header sum, as a transport leaves it.
	ps := checksum.Fold(checksum.Pseudo(inet.AddrFrom4(ourAddr), inet.AddrFrom4(peerAddr), inet.ProtoUDP, 3000))
	b.Bytes()[16], b.Bytes()[17] = byte(ps>>8), byte(ps)
	if err := e.l.write(inet.IPv4Unspecified, peerAddr, inet.ProtoUDP, b, transport.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(e.link.out) < 3 {
		t.Fatalf("%d fragments", len(e.link.out))
	}
	var whole []byte
	for _, o := range e.link.out {
		whole = append(whole, Header(o.data).Payload()...)
	}
	if checksum.Fold(checksum.Sum(whole, checksum.Pseudo(inet.AddrFrom4(ourAddr), inet.AddrFrom4(peerAddr), inet.ProtoUDP, len(whole)))) != 0xffff {
		t.Fatal("reassembled payload does not verify: the partial checksum was not completed")
	}
}

// TestInputPassesCsumVerified: the device's word on the transport
// checksum reaches the transport for a whole datagram, not for one
// reassembled from fragments.
func TestInputPassesCsumVerified(t *testing.T) {
	e := newEnv(t, Config{})
	var got []bool
	rec := &verifiedTransport{got: &got}
	e.l.Register(inet.ProtoUDP, rec)
	d := datagram(Fields{Protocol: inet.ProtoUDP, Src: peerAddr, Dst: ourAddr, TTL: 64}, seq(100))
	e.l.Input(peerMAC, ourMAC, d, netif.RxMeta{CsumVerified: true})
	e.l.Input(peerMAC, ourMAC, d, netif.RxMeta{})
	f1 := datagram(Fields{Protocol: inet.ProtoUDP, Src: peerAddr, Dst: ourAddr, TTL: 64, ID: 9, MF: true}, seq(64))
	f2 := datagram(Fields{Protocol: inet.ProtoUDP, Src: peerAddr, Dst: ourAddr, TTL: 64, ID: 9, FragOffset: 64}, seq(36))
	e.l.Input(peerMAC, ourMAC, f1, netif.RxMeta{CsumVerified: true})
	e.l.Input(peerMAC, ourMAC, f2, netif.RxMeta{CsumVerified: true})
	if len(got) != 3 || !got[0] || got[1] || got[2] {
		t.Fatalf("CsumVerified as delivered: %v, want [true false false]", got)
	}
}

type verifiedTransport struct{ got *[]bool }

func (v *verifiedTransport) Deliver(p *transport.Packet)   { *v.got = append(*v.got, p.CsumVerified) }
func (v *verifiedTransport) Error(*transport.ControlError) {}
