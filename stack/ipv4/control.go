package ipv4

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

// ICMP types that carry a quoted datagram (RFC 792).
const (
	TypeDestUnreachable = 3
	TypeSourceQuench    = 4
	TypeTimeExceeded    = 11
	TypeParamProblem    = 12

	CodeFragNeeded = 4 // destination unreachable: fragmentation needed and DF set
)

// mtuPlateaus is RFC 1191 §7's table, used when a router reports MTU 0.
var mtuPlateaus = [...]uint16{65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, MinMTU}

// plateauBelow returns the largest plateau below totalLen (RFC 1191 §5).
func plateauBelow(totalLen uint16) uint16 {
	for _, p := range mtuPlateaus {
		if p < totalLen {
			return p
		}
	}
	return MinMTU
}

// errorKind maps an ICMPv4 error's type and code to the family-neutral
// kind the transports act on (RFC 792, RFC 1122 §4.2.3.9, RFC 1812
// §5.2.7.1); ok is false for types that carry no quoted datagram. This is
// the one place ICMPv4 types and codes are read for the transports.
func errorKind(typ, code uint8) (k transport.ErrorKind, ok bool) {
	switch typ {
	case TypeDestUnreachable:
		switch code {
		case 0, 6, 11: // net unreachable, net unknown, net for TOS
			return transport.NetUnreachable, true
		case 2:
			return transport.ProtoUnreachable, true
		case 3:
			return transport.PortUnreachable, true
		case CodeFragNeeded:
			return transport.PacketTooBig, true
		case 9, 10, 13: // net, host, communication administratively prohibited
			return transport.Prohibited, true
		default: // host unreachable, unknown, isolated, for TOS; precedence
			return transport.HostUnreachable, true
		}
	case TypeTimeExceeded:
		return transport.TimeExceeded, true
	case TypeParamProblem:
		return transport.ParamProblem, true
	case TypeSourceQuench:
		return transport.SourceQuench, true
	}
	return 0, false
}

// DeliverError hands an ICMP error of type typ and code to the transport
// named by the quoted datagram's protocol, as a transport.ControlError. The
// icmp layer calls it with quoted already checked by ParseQuoted (a whole
// IP header, then whatever of its payload was quoted); mtu is the next-hop
// MTU field of a fragmentation needed, from the reporter from.
//
// Errors quoting a source other than our address are dropped (they cannot
// be about a datagram we sent), as are types that quote nothing. For
// fragmentation needed, an MTU below 68 is raised to 68 (RFC 1191 §4, RFC
// 791 §3.2), and an MTU of 0 (a pre-RFC 1191 router) is replaced by the
// plateau below the quoted total length (RFC 1191 §5).
func (l *Layer) DeliverError(typ, code uint8, mtu uint16, from inet.Addr4, quoted Header) {
	q := quoted
	kind, ok := errorKind(typ, code)
	if !ok || len(q) < HeaderLen || len(q) < q.HeaderLen() {
		l.stats.ControlErrorDrops++
		return
	}
	if !l.addr.Addr.IsUnspecified() && q.Src() != l.addr.Addr {
		l.stats.ControlErrorDrops++
		return
	}
	if kind == transport.PacketTooBig {
		switch {
		case mtu == 0:
			mtu = plateauBelow(q.TotalLen())
		case mtu < MinMTU:
			mtu = MinMTU
		}
	} else {
		mtu = 0
	}
	t := l.proto[q.Protocol()]
	if t == nil {
		l.stats.ControlErrorDrops++
		return
	}
	l.stats.ControlErrors++
	e := &l.ce
	*e = transport.ControlError{
		Kind: kind, MTU: int(mtu), From: inet.AddrFrom4(from),
		Src: inet.AddrFrom4(q.Src()), Dst: inet.AddrFrom4(q.Dst()), Proto: q.Protocol(),
		Quoted: q.Payload(),
	}
	t.Error(e)
	*e = transport.ControlError{} // drop references to the caller's buffer
}

// PortUnreachable answers p with an ICMP port unreachable through the ICMP
// hook (SetICMP), which applies RFC 1122 §3.2.2's rules and the rate
// limit. It implements transport.Network.
func (l *Layer) PortUnreachable(p *transport.Packet) {
	if l.icmp != nil {
		l.icmp.SendUnreachable(CodePortUnreachable, Header(p.Header))
	}
}
