package ipv4

import "github.com/mirago/mirago/stack/inet"

// ICMP types that carry a quoted datagram (RFC 792).
const (
	TypeDestUnreachable = 3
	TypeSourceQuench    = 4
	TypeTimeExceeded    = 11
	TypeParamProblem    = 12

	CodeFragNeeded = 4 // destination unreachable: fragmentation needed and DF set
)

// ControlError is an ICMP error about a datagram we sent, as handed to the
// transport that sent it. Its slices are valid only during the call.
type ControlError struct {
	Type, Code uint8
	// MTU is the next-hop MTU for fragmentation needed (type 3 code 4),
	// normalised by DeliverError (see there); 0 otherwise.
	MTU  uint16
	From inet.Addr4 // the reporter (router or host)
	// Src, Dst, Proto and ID are those of the quoted datagram.
	Src, Dst inet.Addr4
	Proto    uint8
	ID       uint16
	// Quoted is the quoted datagram: a full IP header, then whatever of
	// its payload was quoted.
	Quoted Header
	// QuotedTransport is Quoted's payload: at least 8 bytes of transport
	// header per RFC 792 when the reporter complied, but possibly fewer;
	// transports must check its length.
	QuotedTransport []byte
}

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

// DeliverError hands an ICMP error to the transport named by the quoted
// datagram's protocol. The icmp layer calls it with e.Quoted already
// checked by ParseQuoted; Src/Dst/Proto/ID/QuotedTransport are filled in
// here from it.
//
// Errors quoting a source other than our address are dropped (they cannot
// be about a datagram we sent). For fragmentation needed, an MTU below 68
// is raised to 68 (RFC 1191 §4, RFC 791 §3.2), and an MTU of 0 (a pre-RFC
// 1191 router) is replaced by the plateau below the quoted total length
// (RFC 1191 §5).
func (l *Layer) DeliverError(e *ControlError) {
	q := e.Quoted
	if len(q) < HeaderLen || len(q) < q.HeaderLen() {
		l.stats.ControlErrorDrops++
		return
	}
	e.Src, e.Dst, e.Proto, e.ID = q.Src(), q.Dst(), q.Protocol(), q.ID()
	e.QuotedTransport = q.Payload()
	if !l.addr.Addr.IsUnspecified() && e.Src != l.addr.Addr {
		l.stats.ControlErrorDrops++
		return
	}
	if e.Type == TypeDestUnreachable && e.Code == CodeFragNeeded {
		switch {
		case e.MTU == 0:
			e.MTU = plateauBelow(q.TotalLen())
		case e.MTU < MinMTU:
			e.MTU = MinMTU
		}
	}
	t := l.proto[e.Proto]
	if t == nil {
		l.stats.ControlErrorDrops++
		return
	}
	l.stats.ControlErrors++
	t.Error(e)
}
