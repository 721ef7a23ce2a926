package ipv6

import (
	"testing"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

// BenchmarkInput is one UDP packet through the input path: header and
// address checks, the (empty) chain walk, delivery.
func BenchmarkInput(b *testing.B) {
	e := newEnv(b, Config{})
	e.udp.noCopy = true
	p := udpFrom(peerAddr, ourAddr, string(seq(1400)))
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		e.input(peerMAC, ourMAC, p)
	}
}

// BenchmarkInputOptions is the same behind Hop-by-Hop and Destination
// Options headers.
func BenchmarkInputOptions(b *testing.B) {
	e := newEnv(b, Config{})
	e.udp.noCopy = true
	p := packet(Fields{NextHeader: inet.ProtoHopByHop, Src: peerAddr, Dst: ourAddr},
		cat(ext(inet.ProtoDestOpts, OptRouterAlert, 2, 0, 0), ext(inet.ProtoUDP, 0x1e, 2, 0, 0), udpBody(string(seq(1300)))))
	b.ReportAllocs()
	for b.Loop() {
		e.input(peerMAC, ourMAC, p)
	}
}

// BenchmarkReassembly is a 3000-byte datagram in three fragments.
func BenchmarkReassembly(b *testing.B) {
	e := newEnv(b, Config{})
	e.udp.noCopy = true
	d := udpWhole(3000)
	parts := [][]byte{fragPkt(1, d, 0, 1232, true), fragPkt(1, d, 1232, 2464, true), fragPkt(1, d, 2464, len(d), false)}
	b.ReportAllocs()
	b.SetBytes(int64(len(d)))
	for b.Loop() {
		for _, p := range parts {
			e.input(peerMAC, ourMAC, p)
		}
	}
}

// BenchmarkWrite is one 1400-byte UDP packet through the output path:
// source check, path MTU lookup (one cache entry), header.
func BenchmarkWrite(b *testing.B) {
	e := newEnv(b, Config{})
	e.link.discard = true
	e.l.UpdatePMTULocked(farAddr, 1400)
	buf := pkt.New(e.l.Headroom()+64, e.l.Headroom())
	body := seq(1400)
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset(e.l.Headroom())
		buf.Attach(body)
		e.l.Write(ourAddr, peerAddr, inet.ProtoUDP, buf, transport.WriteOptions{})
	}
}
