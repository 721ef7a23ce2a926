package tcp

import (
	"encoding/binary"

	"github.com/mirago/mirago/stack/transport"
)

// Error implements transport.Receiver: it handles an ICMP error quoting
// a segment we sent, by its kind (RFC 1122 §4.2.3.9). Called with the
// stack lock held. RFC 5927 §4.1: it is ignored unless the quoted sequence
// number is in SND.UNA..SND.MAX of an existing connection. Parameter
// problems and source quenches (RFC 6633) are ignored.
func (l *Layer) Error(e *transport.ControlError) {
	if len(e.Quoted) < 8 || e.Kind == transport.ParamProblem || e.Kind == transport.SourceQuench {
		return
	}
	id := tuple{laddr: e.Src, raddr: e.Dst,
		lport: binary.BigEndian.Uint16(e.Quoted[0:]), rport: binary.BigEndian.Uint16(e.Quoted[2:])}
	c := l.conns[id]
	if c == nil {
		return
	}
	seq := binary.BigEndian.Uint32(e.Quoted[4:])
	if !seqIn(seq, c.sndUna, c.sndMax) && !(c.state == SynSent && seq == c.iss) {
		return
	}
	switch e.Kind {
	case transport.PacketTooBig:
		c.pmtu(e.MTU)
	case transport.PortUnreachable, transport.ProtoUnreachable:
		// Hard errors abort a connection attempt; in synchronized
		// states they are treated as soft (RFC 5461 §4, as Linux): a
		// forged in-window unreachable must not kill a connection.
		if c.state == SynSent {
			c.finish(ErrRefused)
		} else {
			c.f |= fSoftErr
		}
	default:
		// Soft errors (RFC 1122 §4.2.3.9) abort only a connection attempt.
		if c.state == SynSent {
			c.finish(ErrUnreachable)
		} else {
			c.f |= fSoftErr
		}
	}
}

// pmtu lowers the MSS for a smaller path MTU and resends at once.
func (c *Conn) pmtu(mtu int) {
	if mtu <= 0 {
		mtu = 576 // RFC 1191 §5: unknown, use a plateau
	}
	m := max(mtu-transport.NetworkHeaderLen(c.id.raddr)-HeaderLen, MSSFloor)
	if m >= int(c.mss) {
		return
	}
	c.mss = uint16(m)
	if c.state.synchronized() && c.sndUna != c.sndMax {
		c.sndNxt = c.sndUna
		c.output()
	}
}
