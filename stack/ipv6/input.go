package ipv6

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/transport"
)

// Input handles one received packet; it has the ethernet handler
// signature and is registered for EtherType 0x86dd. packet is valid only
// during the call. meta.CsumVerified (the device checked the transport
// checksum) is passed on for a packet that was not reassembled.
func (l *Layer) Input(src, dst inet.MAC, packet []byte, meta netif.RxMeta) {
	l.stats.Received++
	h, err := ParseHeader(packet)
	if err != nil {
		switch err {
		case ErrShort:
			l.stats.DropShort++
		case ErrVersion:
			l.stats.DropVersion++
		default:
			l.stats.DropLength++
		}
		return
	}
	if !validSource(h.Src()) {
		l.stats.DropSource++
		return
	}
	if !l.acceptDst(h.Dst()) {
		l.stats.DropNotForUs++
		return
	}
	l.walk(h, chain{off: HeaderLen, nh: h.NextHeader(), nhOff: 6, linkMcast: dst.IsMulticast(), verified: meta.CsumVerified})
}

// validSource refuses sources no packet may come from on the wire:
// multicast (RFC 4291 §2.7), the loopback address (RFC 4291 §2.5.3) and
// IPv4-mapped addresses (RFC 4291 §2.5.5.2; RFC 6052 §3.1's concerns:
// they would read as IPv4 to the transports). The unspecified address
// and our own are refused later, unless the packet is ICMPv6 (Neighbor
// Discovery's DAD and its duplicate detection, RFC 4862 §5.4).
func validSource(a inet.Addr) bool {
	return a.Is6() && !a.IsMulticast() && !a.IsLoopback()
}

// acceptDst decides whether a packet to a is for us: one of our
// addresses that is not tentative (RFC 4862 §5.4), or a group we joined.
// Multicast of the reserved scope 0 and of interface-local scope cannot
// come from a link (RFC 4291 §2.7) and are dropped.
func (l *Layer) acceptDst(a inet.Addr) bool {
	switch {
	case !a.Is6():
		return false // IPv4-mapped
	case a.IsMulticast():
		if s := a.Scope(); s == 0 || s == inet.ScopeInterfaceLocal {
			return false
		}
		return l.groups.find(a) >= 0
	}
	return l.usable(a)
}

// chain is where the walk of a packet's header chain is.
type chain struct {
	off       int   // where header nh starts
	nh        uint8 // its type
	nhOff     int   // offset of the byte that named it
	n         int   // extension headers seen
	linkMcast bool  // came in a link-layer multicast or broadcast frame
	frag      bool  // carried a Fragment header (reassembled or atomic)
	verified  bool  // the device verified the transport checksum
}

// isExt reports the extension headers the walk processes. Others (AH,
// ESP, Mobility, HIP, ...) are unrecognised next headers.
func isExt(nh uint8) bool {
	switch nh {
	case inet.ProtoHopByHop, inet.ProtoDestOpts, inet.ProtoRouting, inet.ProtoFragment:
		return true
	}
	return false
}

// walk processes the extension headers of h in order (RFC 8200 §4) and
// delivers the upper-layer header, within the limits of the Config.
func (l *Layer) walk(h Header, c chain) {
	for isExt(c.nh) {
		if c.n == l.cfg.MaxExtHeaders {
			l.stats.DropChainTooLong++
			return
		}
		c.n++
		var next uint8
		var n int
		switch c.nh {
		case inet.ProtoHopByHop, inet.ProtoDestOpts:
			if c.nh == inet.ProtoHopByHop && c.off != HeaderLen {
				// RFC 8200 §4.3: only right after the IPv6 header.
				l.stats.DropHopByHop++
				l.paramProblem(h, CodeUnknownNext, c.nhOff, c.linkMcast)
				return
			}
			oh, err := ParseOptionsHeader(h[c.off:])
			if err != nil {
				l.stats.DropTruncated++
				return
			}
			if c.off+len(oh)-HeaderLen > l.cfg.MaxChainLen {
				l.stats.DropChainTooLong++
				return
			}
			if !l.options(h, c.off, oh, c.nh == inet.ProtoHopByHop, c.linkMcast) {
				return
			}
			next, n = oh.NextHeader(), len(oh)
		case inet.ProtoRouting:
			rh, err := ParseRoutingHeader(h[c.off:])
			if err != nil {
				l.stats.DropTruncated++
				return
			}
			if c.off+len(rh)-HeaderLen > l.cfg.MaxChainLen {
				l.stats.DropChainTooLong++
				return
			}
			if rh.SegmentsLeft() > 0 {
				// We route no packets, so every routing type is one we
				// do not recognise (RFC 8200 §4.4); RH0 is deprecated
				// (RFC 5095 §3) and counted apart.
				if rh.RoutingType() == 0 {
					l.stats.DropRH0++
				} else {
					l.stats.DropRouting++
				}
				l.paramProblem(h, CodeHeaderField, c.off+2, c.linkMcast)
				return
			}
			next, n = rh.NextHeader(), len(rh)
		case inet.ProtoFragment:
			var ok bool
			if h, ok = l.fragment(h, &c); !ok {
				return
			}
			continue
		}
		c.nhOff, c.nh, c.off = c.off, next, c.off+n
	}
	if c.nh == inet.ProtoNoNext {
		l.stats.NoNextHeader++ // RFC 8200 §4.7: nothing to deliver
		return
	}
	l.deliver(h, c)
}

// fragment handles the Fragment header at c.off. An atomic fragment is
// processed on its own (RFC 6946); others go to reassembly, and the walk
// goes on in the whole packet once the last one came. It returns the
// packet to go on with and c moved past the header, or false.
func (l *Layer) fragment(h Header, c *chain) (Header, bool) {
	if c.frag {
		// A second Fragment header: nested fragmentation is refused.
		l.stats.DropNestedFragment++
		return nil, false
	}
	fh, err := ParseFragmentHeader(h[c.off:])
	if err != nil {
		l.stats.DropTruncated++
		return nil, false
	}
	c.frag = true
	if fh.IsAtomic() {
		l.stats.AtomicFragments++
		c.nhOff, c.nh, c.off = c.off, fh.NextHeader(), c.off+FragmentHeaderLen
		return h, true
	}
	data := h[c.off+FragmentHeaderLen:]
	switch {
	case fh.More() && (len(data) == 0 || len(data)%8 != 0):
		// RFC 8200 §4.5: pointing at the Payload Length.
		l.stats.ReasmBadLength++
		l.paramProblem(h, CodeHeaderField, 4, c.linkMcast)
		return nil, false
	case c.off-HeaderLen+fh.Offset()+len(data) > MaxPayloadLen:
		// RFC 8200 §4.5: pointing at the Fragment Offset.
		l.stats.ReasmBadLength++
		l.paramProblem(h, CodeHeaderField, c.off+2, c.linkMcast)
		return nil, false
	case fh.Offset() == 0 && !l.chainComplete(fh.NextHeader(), data, c.n):
		// RFC 7112 §5: the first fragment must hold the whole header
		// chain, up to and including the upper-layer header.
		l.stats.ReasmIncompleteChain++
		l.paramProblem(h, CodeIncompleteHdrs, 0, c.linkMcast)
		return nil, false
	}
	whole, unfrag, nhOff := l.reasm.add(h, c.off, c.nhOff, fh, data, c.linkMcast)
	if whole == nil {
		return nil, false
	}
	// The whole packet has the first fragment's unfragmentable part, then
	// the fragmentable one where its Fragment header was.
	c.off, c.nhOff = unfrag, nhOff
	c.nh, c.verified = whole[nhOff], false
	return whole, true
}

// chainComplete reports whether b, a first fragment's fragmentable part
// starting with a header of type nh, holds the rest of the header chain
// and the upper-layer header (RFC 7112 §5): 20 bytes of TCP, 8 of UDP
// or ICMPv6, nothing for other protocols. n is the extension headers seen
// before it.
func (l *Layer) chainComplete(nh uint8, b []byte, n int) bool {
	off := 0
	for {
		switch nh {
		case inet.ProtoDestOpts, inet.ProtoRouting:
			if n++; n > l.cfg.MaxExtHeaders {
				return true // the walk refuses it later
			}
			m, err := extLen(b[off:])
			if err != nil {
				return false
			}
			nh, off = b[off], off+m
		case inet.ProtoTCP:
			return len(b)-off >= 20
		case inet.ProtoUDP, inet.ProtoICMPv6:
			return len(b)-off >= 8
		case inet.ProtoHopByHop, inet.ProtoFragment:
			return true // refused by the walk on the whole packet
		default:
			return true
		}
	}
}

// options checks the TLVs of the options header oh at off (RFC 8200
// §4.2): Pad1 and PadN (at most 7 bytes of padding in a row, zeros, as
// Linux and RFC 4942 §2.1.9.5), Router Alert in a Hop-by-Hop header, at
// most MaxOptions others; an unrecognised option is skipped or the packet
// dropped by its type's two high bits, with a Parameter Problem code 2
// for 10 and (unless to multicast) for 11. It reports whether the packet
// goes on.
func (l *Layer) options(h Header, off int, oh OptionsHeader, hbh, linkMcast bool) bool {
	it := Iter(oh.Options())
	count, padRun := 0, 0
	for {
		typ, data, o, ok := it.Next()
		if !ok {
			break
		}
		switch {
		case typ == OptPad1:
			padRun++
		case typ == OptPadN:
			padRun += 2 + len(data)
			for _, b := range data {
				if b != 0 {
					l.stats.DropPadding++
					return false
				}
			}
		default:
			padRun = 0
			if count++; count > l.cfg.MaxOptions {
				l.stats.DropTooManyOptions++
				return false
			}
			if hbh && typ == OptRouterAlert && len(data) == 2 {
				continue
			}
			switch typ >> 6 {
			case 0: // skip over it
				l.stats.SkippedOptions++
				continue
			case 1: // discard
			case 2: // discard, Parameter Problem even to multicast
				l.paramProblemAny(h, CodeUnknownOption, off+2+o)
			case 3: // discard, Parameter Problem unless to multicast
				if !h.Dst().IsMulticast() {
					l.paramProblem(h, CodeUnknownOption, off+2+o, linkMcast)
				}
			}
			l.stats.DropUnknownOption++
			return false
		}
		if padRun > 7 {
			l.stats.DropPadding++
			return false
		}
	}
	if it.Err() != nil {
		l.stats.DropBadOption++
		return false
	}
	return true
}

// paramProblem asks for a Parameter Problem about h, unless h came in a
// link-layer multicast or broadcast frame (RFC 4443 §2.4 (e.4)).
func (l *Layer) paramProblem(h Header, code uint8, ptr int, linkMcast bool) {
	if !linkMcast {
		l.paramProblemAny(h, code, ptr)
	}
}

// paramProblemAny asks for a Parameter Problem whatever the frame's
// link-layer destination: code 2 about an option type whose high bits
// are 10 (RFC 4443 §2.4 (e.3), (e.4)).
func (l *Layer) paramProblemAny(h Header, code uint8, ptr int) {
	if l.icmp != nil {
		l.icmp.SendParamProblem(code, uint32(ptr), h)
	}
}

// deliver hands a packet whose upper-layer header is at c.off to its
// transport.
func (l *Layer) deliver(h Header, c chain) {
	src, dst := h.Src(), h.Dst()
	if c.nh != inet.ProtoICMPv6 && (src.IsUnspecified() || l.IsLocal(src)) {
		l.stats.DropSource++
		return
	}
	t := l.proto[c.nh]
	if t == nil {
		l.stats.DropProtocol++
		l.paramProblem(h, CodeUnknownNext, c.nhOff, c.linkMcast)
		return
	}
	p := &l.pkt
	*p = transport.Packet{
		Src: src, Dst: dst, Header: h, Payload: h[c.off:],
		Broadcast: c.linkMcast || dst.IsMulticast(), TTL: h.HopLimit(), TOS: h.TrafficClass(),
		Fragmented: c.frag, CsumVerified: c.verified,
	}
	l.stats.Delivered++
	t.Deliver(p)
	*p = transport.Packet{} // drop references to the caller's buffer
}
