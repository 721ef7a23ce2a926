package ipv6

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

// UpperLayer walks the extension headers of the packet h, which may be a
// truncated one quoted in an ICMPv6 error, to its upper-layer header,
// going through at most maxExt extension headers. It returns the
// upper-layer protocol and the offset of its header in h. ok is false
// when the chain is cut short or too long, or h is a fragment other than
// the first (it holds no upper-layer header).
func UpperLayer(h Header, maxExt int) (proto uint8, off int, ok bool) {
	nh, off := h.NextHeader(), HeaderLen
	for n := 0; isExt(nh); n++ {
		if n == maxExt {
			return 0, 0, false
		}
		b := h[off:]
		if nh == inet.ProtoFragment {
			fh, err := ParseFragmentHeader(b)
			if err != nil || fh.Offset() != 0 {
				return 0, 0, false
			}
			nh, off = fh.NextHeader(), off+FragmentHeaderLen
			continue
		}
		m, err := extLen(b)
		if err != nil {
			return 0, 0, false
		}
		nh, off = b[0], off+m
	}
	return nh, off, true
}

// DeliverError hands an ICMPv6 error of the given kind, about the packet
// quoted (checked by ParseQuoted), to the transport of the quoted packet's
// upper-layer protocol, as a transport.ControlError; icmpv6 maps the
// error's type and code to kind. from is the error's source.
//
// Errors whose quoted source is not one of our addresses, or whose
// upper-layer header cannot be found (RFC 4443 §2.4 (d): it identifies
// the process), are dropped and counted. A PacketTooBig first lowers the
// path MTU toward the quoted destination (UpdatePMTULocked; mtu is the
// message's MTU, at least 1280); the transport gets it capped at the
// link MTU.
func (l *Layer) DeliverError(kind transport.ErrorKind, mtu int, from inet.Addr, quoted Header) {
	proto, off, ok := UpperLayer(quoted, l.cfg.MaxExtHeaders)
	if !ok || !quoted.Src().Is6() || !l.IsLocal(quoted.Src()) {
		l.stats.ControlErrorDrops++
		return
	}
	if kind == transport.PacketTooBig {
		if mtu < MinMTU {
			l.stats.ControlErrorDrops++
			return
		}
		l.UpdatePMTULocked(quoted.Dst(), mtu)
		mtu = min(mtu, l.LinkMTU())
	} else {
		mtu = 0
	}
	t := l.proto[proto]
	if t == nil {
		l.stats.ControlErrorDrops++
		return
	}
	l.stats.ControlErrors++
	e := &l.ce
	*e = transport.ControlError{
		Kind: kind, MTU: mtu, From: from,
		Src: quoted.Src(), Dst: quoted.Dst(), Proto: proto, Quoted: quoted[off:],
	}
	t.Error(e)
	*e = transport.ControlError{} // drop references to the caller's buffer
}

// PortUnreachable answers p with an ICMPv6 port unreachable (RFC 4443
// §3.1 code 4) through the ICMP hook, unless p came to a multicast
// address or in a link-layer multicast frame (RFC 4443 §2.4 (e.3),
// (e.4)). It implements transport.Network.
func (l *Layer) PortUnreachable(p *transport.Packet) {
	if l.icmp != nil && !p.Broadcast {
		l.icmp.SendUnreachable(CodePortUnreach, Header(p.Header))
	}
}
