package icmpv6

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/transport"
)

// SendParamProblem implements ipv6.ICMPSender: a Parameter Problem with
// code and pointer (the offset of the erroneous byte) about offending.
func (l *Layer) SendParamProblem(code uint8, pointer uint32, offending ipv6.Header) {
	l.sendError(TypeParamProblem, code, pointer, offending)
}

// SendUnreachable implements ipv6.ICMPSender: a Destination Unreachable
// with code about offending.
func (l *Layer) SendUnreachable(code uint8, offending ipv6.Header) {
	l.sendError(TypeDestUnreachable, code, 0, offending)
}

// SendTimeExceeded implements ipv6.ICMPSender: a Time Exceeded with code
// (1: reassembly timeout) about offending, the first fragment.
func (l *Layer) SendTimeExceeded(code uint8, offending ipv6.Header) {
	l.sendError(TypeTimeExceeded, code, 0, offending)
}

// sendError sends an error quoting up to cfg.Quote bytes of offending,
// unless RFC 4443 §2.4 forbids it or the rate limit is exhausted.
func (l *Layer) sendError(typ, code uint8, rest uint32, offending ipv6.Header) {
	h, err := ipv6.ParseQuoted(offending)
	if err != nil || !l.mayReport(h, typ, code, rest) {
		l.stats.Suppressed++
		return
	}
	if !l.bucket.Allow(l.q.Now()) {
		l.stats.RateLimited++
		return
	}
	src := h.Dst()
	if src.IsMulticast() || !l.ip.IsLocal(src) {
		if src, err = l.ip.Source(h.Src()); err != nil {
			l.stats.SendErrors++
			return
		}
	}
	b := l.buf
	b.Reset(l.ip.Headroom())
	f := Fields{Type: typ, Code: code, Rest: rest, Body: h[:min(len(h), l.cfg.Quote)]}
	m := b.Append(f.Len())
	f.Encode(m)
	SetChecksum(m, src, h.Src(), 0, 0)
	if err := l.ip.Write(src, h.Src(), inet.ProtoICMPv6, b, transport.WriteOptions{}); err != nil {
		l.stats.SendErrors++
		return
	}
	l.stats.ErrorsOut[typ]++
}

// mayReport applies RFC 4443 §2.4 (e): no error about an ICMPv6 error or
// a redirect (e.1, e.2); about a packet to a multicast address only a
// Packet Too Big or a Parameter Problem code 2 about an option whose
// type starts with bits 10 (e.3; ipv6 applies (e.4), the link-layer
// multicast case); none to a source that is not one node: ::, multicast
// (e.6), or ours.
func (l *Layer) mayReport(h ipv6.Header, typ, code uint8, rest uint32) bool {
	s := h.Src()
	if !s.Is6() || s.IsUnspecified() || s.IsMulticast() || s.IsLoopback() || l.ip.IsLocal(s) {
		return false
	}
	if h.Dst().IsMulticast() {
		ok := typ == TypePacketTooBig ||
			typ == TypeParamProblem && code == CodeUnknownOption && rest < uint32(len(h)) && h[rest]>>6 == 2
		if !ok {
			return false
		}
	}
	proto, off, ok := ipv6.UpperLayer(h, 8)
	if ok && proto == inet.ProtoICMPv6 {
		if off >= len(h) {
			return false // cannot tell: be safe
		}
		if t := h[off]; IsError(t) || t == TypeRedirect {
			return false
		}
	}
	return true
}
