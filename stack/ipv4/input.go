package ipv4

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/transport"
)

// Input handles one received datagram; it has the ethernet handler
// signature and is registered for EtherType 0x0800. packet is valid only
// during the call. A datagram may be larger than the MTU when the device
// merged it from several TCP segments (netif.Offloads.LargeReceive; the
// driver refuses such frames otherwise); meta.CsumVerified passes on to
// the transport, as the device's word on the transport checksum, for an
// unfragmented datagram. The IP header checksum is always checked.
func (l *Layer) Input(src, dst inet.MAC, packet []byte, meta netif.RxMeta) {
	l.stats.Received++
	h, err := ParseHeader(packet)
	if err != nil {
		l.countParseError(err)
		return
	}
	if !h.ValidChecksum() {
		l.stats.DropChecksum++
		return
	}
	if h.HeaderLen() > HeaderLen {
		sr, err := checkOptions(h.Options())
		if err != nil {
			l.stats.DropOptions++
			return
		}
		// RFC 1122 §3.2.1.8 lets a host process source-routed datagrams
		// without following the route; we drop them (they can be used to
		// spoof trust in the route's reverse) and count.
		if sr {
			l.stats.DropSourceRoute++
			return
		}
	}
	if !l.validSource(h.Src()) {
		l.stats.DropSource++
		return
	}
	bcast, ok := l.acceptDst(h.Dst(), h.Protocol())
	if !ok {
		l.stats.DropNotForUs++
		return
	}
	verified := meta.CsumVerified
	frag := h.IsFragment()
	if frag {
		h = l.reasm.add(h)
		if h == nil {
			return
		}
		verified = false
	}
	l.deliver(h, bcast || dst.IsMulticast(), verified, frag)
}

func (l *Layer) countParseError(err error) {
	switch err {
	case ErrShort:
		l.stats.DropShort++
	case ErrVersion:
		l.stats.DropVersion++
	case ErrIHL:
		l.stats.DropIHL++
	default:
		l.stats.DropLength++
	}
}

// validSource applies RFC 1122 §3.2.1.3: a source must be a unique host
// address, and not ours (a "land" attack). Refused: 0.0.0.0 (unless
// Config.AcceptUnspecifiedSource), {0, host} ("this network"), loopback
// 127/8, multicast 224/4, class E 240/4 (reserved, RFC 1112 §4 and the
// RFC 6890 registry; it includes 255.255.255.255), our own address, and
// our subnet's broadcast and {net, 0}.
func (l *Layer) validSource(a inet.Addr4) bool {
	switch {
	case a.IsUnspecified():
		return l.cfg.AcceptUnspecifiedSource
	case a.IsReserved(), a.IsMulticast(), a.IsLoopback(), a[0] == 0:
		return false
	case l.IsLocal(a):
		return false
	case l.hasSubnetBroadcast() && (a == l.addr.SubnetBroadcast() || a.Uint32() == l.addr.Addr.Uint32()&l.addr.Mask()):
		return false
	}
	return true
}

// acceptDst decides whether a datagram to a is for us (RFC 1122
// §3.2.1.3); we join no multicast groups.
func (l *Layer) acceptDst(a inet.Addr4, proto uint8) (bcast, ok bool) {
	switch {
	case l.IsLocal(a):
		return false, true
	case l.IsBroadcast(a):
		return true, true
	case a.IsMulticast():
		return false, false
	case l.cfg.AcceptAnyDst:
		return false, true
	case l.addr.Addr.IsUnspecified() && proto == inet.ProtoUDP:
		return false, true
	}
	return false, false
}

// deliver hands a complete datagram to its transport. bcast also covers a
// link-layer broadcast or multicast, after which no ICMP error is sent
// (RFC 1122 §3.2.2). frag is set for a reassembled datagram.
func (l *Layer) deliver(h Header, bcast, csumVerified, frag bool) {
	t := l.proto[h.Protocol()]
	if t == nil {
		l.stats.DropProtocol++
		if l.icmp != nil && !bcast {
			l.icmp.SendUnreachable(CodeProtoUnreachable, h)
		}
		return
	}
	p := &l.pkt
	*p = transport.Packet{
		Src: inet.AddrFrom4(h.Src()), Dst: inet.AddrFrom4(h.Dst()),
		Header: h, Payload: h.Payload(),
		Broadcast: bcast, TTL: h.TTL(), TOS: h.TOS(),
		CsumVerified: csumVerified, Fragmented: frag,
	}
	l.stats.Delivered++
	t.Deliver(p)
	*p = transport.Packet{} // drop references to the caller's buffer
}
