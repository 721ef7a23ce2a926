package stack

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/tcp"
)

// tcpIP adapts the ipv4 layer to tcp.IP. TCP segments are sent with DF
// set: TCP sizes them to the path MTU (RFC 1191).
type tcpIP struct{ ip *ipv4.Layer }

func (a tcpIP) WriteTCP(src, dst inet.Addr4, b *pkt.Buf) error {
	return a.ip.Write(src, dst, inet.ProtoTCP, b, ipv4.WriteOptions{DontFragment: true})
}
func (a tcpIP) Headroom() int                             { return a.ip.Headroom() }
func (a tcpIP) MTU() int                                  { return a.ip.MTU() }
func (a tcpIP) Source(dst inet.Addr4) (inet.Addr4, error) { return a.ip.Source(dst) }

// tcpTransport adapts the tcp layer to ipv4.Transport.
type tcpTransport struct {
	tcp     *tcp.Layer
	dropped *uint64
}

// Deliver hands a segment to TCP. Segments sent to a broadcast or
// multicast address are dropped: TCP is unicast only (RFC 1122 §4.2.3.10).
func (t tcpTransport) Deliver(p *ipv4.Packet) {
	if p.Broadcast || p.Dst.IsMulticast() {
		*t.dropped++
		return
	}
	t.tcp.Deliver(p.Src, p.Dst, p.Payload)
}

// Error maps an ICMP error onto TCP's soft and hard error kinds
// (RFC 1122 §4.2.3.9).
func (t tcpTransport) Error(e *ipv4.ControlError) {
	var kind tcp.ControlKind
	switch e.Type {
	case ipv4.TypeDestUnreachable:
		switch e.Code {
		case 0, 6, 11:
			kind = tcp.ControlNetUnreachable
		case 2:
			kind = tcp.ControlProtoUnreachable
		case 3:
			kind = tcp.ControlPortUnreachable
		case 4:
			kind = tcp.ControlFragNeeded
		case 9, 10, 13:
			kind = tcp.ControlProhibited
		default:
			kind = tcp.ControlHostUnreachable
		}
	case ipv4.TypeTimeExceeded:
		kind = tcp.ControlTimeExceeded
	default:
		return // parameter problem, source quench: nothing TCP acts on
	}
	t.tcp.ControlError(tcp.ControlError{
		Kind: kind, Src: e.Src, Dst: e.Dst,
		Quoted: e.QuotedTransport, MTU: int(e.MTU),
	})
}
