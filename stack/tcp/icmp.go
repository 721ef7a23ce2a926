package tcp

import (
	"encoding/binary"

	"github.com/mirago/mirago/stack/inet"
)

// ControlKind classifies an ICMP error for TCP.
type ControlKind uint8

// ICMP error kinds (RFC 792, RFC 1122 §4.2.3.9).
const (
	ControlNetUnreachable   ControlKind = iota + 1 // soft
	ControlHostUnreachable                         // soft
	ControlProtoUnreachable                        // hard
	ControlPortUnreachable                         // hard
	ControlFragNeeded                              // PMTU discovery (RFC 1191)
	ControlProhibited                              // soft (codes 9, 10, 13)
	ControlTimeExceeded                            // soft
)

// ControlError is an ICMP error quoting a TCP segment we sent.
type ControlError struct {
	Kind ControlKind
	// Src and Dst are the addresses of the quoted packet: Src is ours.
	Src, Dst inet.Addr4
	// Quoted holds at least the first 8 bytes of the quoted TCP header.
	Quoted []byte
	// MTU is the next-hop MTU of a ControlFragNeeded (0 if unknown).
	MTU int
}

// ControlError handles an ICMP error. Called with the stack lock held.
// RFC 5927 §4.1: it is ignored unless the quoted sequence number is in
// SND.UNA..SND.MAX of an existing connection.
func (l *Layer) ControlError(e ControlError) {
	if len(e.Quoted) < 8 {
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
	case ControlFragNeeded:
		c.pmtu(e.MTU)
	case ControlPortUnreachable, ControlProtoUnreachable:
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
	m := max(mtu-40, MSSFloor)
	if m >= int(c.mss) {
		return
	}
	c.mss = uint16(m)
	if c.state.synchronized() && c.sndUna != c.sndMax {
		c.sndNxt = c.sndUna
		c.output()
	}
}
