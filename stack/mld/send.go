package mld

import (
	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
)

// mldHopLimit: MLD messages stay on the link (RFC 3810 §5).
const mldHopLimit = 1

// source is our link-local address, or :: without one (RFC 3810
// §5.2.13).
func (l *Layer) source() inet.Addr {
	if a, ok := l.addrs.LinkLocal(); ok {
		return a
	}
	return inet.IPv6Unspecified
}

// sendReport sends an MLDv2 report with l.records, if there are any, to
// ff02::16.
func (l *Layer) sendReport() {
	if len(l.records) == 0 {
		return
	}
	l.rep = ReportFields{Records: l.records}
	l.send(inet.IPv6AllMLDv2, &l.rep)
	l.stats.ReportsSent++
}

// sendV1 sends an MLDv1 report for g to g, or a done to all-routers
// (RFC 2710 §4, RFC 3810 §8.3.2).
func (l *Layer) sendV1(g inet.Addr, joined bool) {
	l.v1m = V1Fields{Type: TypeReportV1, Group: g}
	dst := g
	if !joined {
		l.v1m.Type, dst = TypeDoneV1, inet.IPv6AllRouters
	}
	l.send(dst, &l.v1m)
	l.stats.V1Sent++
}

type encoder interface {
	Len() int
	Encode([]byte) (int, error)
}

// send builds the packet: IPv6 header, hop-by-hop header with router
// alert, the message; and hands it to the link.
func (l *Layer) send(dst inet.Addr, f encoder) {
	src := l.source()
	b := l.tx
	b.Reset(l.link.Headroom() + ipv6.HeaderLen + len(hopByHop))
	m := b.Append(f.Len())
	if _, err := f.Encode(m); err != nil {
		l.stats.TxErrors++
		return
	}
	icmpv6.SetChecksum(m, src, dst, 0, 0)
	hb, _ := b.Prepend(len(hopByHop))
	copy(hb, hopByHop[:])
	h, _ := b.Prepend(ipv6.HeaderLen)
	ih := ipv6.Fields{PayloadLen: uint16(len(hopByHop) + len(m)), NextHeader: inet.ProtoHopByHop, HopLimit: mldHopLimit, Src: src, Dst: dst}
	ih.Encode(h)
	if err := l.link.Output(dst, b); err != nil {
		l.stats.TxErrors++
	}
}
