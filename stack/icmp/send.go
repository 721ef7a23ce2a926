package icmp

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/transport"
)

// SendUnreachable implements ipv4.ICMPSender: a destination unreachable
// with code about offending, the datagram as received.
func (l *Layer) SendUnreachable(code uint8, offending ipv4.Header) {
	l.sendError(TypeDestUnreachable, code, 0, offending)
}

// SendTimeExceeded implements ipv4.ICMPSender: a time exceeded with code
// (1: reassembly timeout) about offending, the first fragment's header and
// data.
func (l *Layer) SendTimeExceeded(code uint8, offending ipv4.Header) {
	l.sendError(TypeTimeExceeded, code, 0, offending)
}

// sendError sends an error quoting offending's header and cfg.Quote bytes
// of its payload, unless RFC 1122 §3.2.2 forbids it or the rate limit is
// exhausted.
func (l *Layer) sendError(typ, code uint8, rest uint32, offending ipv4.Header) {
	h, err := ipv4.ParseQuoted(offending)
	if err != nil || !l.mayReport(h) {
		l.stats.Suppressed++
		return
	}
	if !l.bucket.Allow(l.q.Now()) {
		l.stats.RateLimited++
		return
	}
	quote := h[:min(len(h), h.HeaderLen()+l.cfg.Quote)]
	b := l.buf
	b.Reset(l.ip.Headroom())
	f := Fields{Type: typ, Code: code, Rest: rest, Body: quote}
	if _, err := f.Encode(b.Append(f.Len())); err != nil {
		l.stats.SendErrors++
		return
	}
	src := inet.AddrFrom4(h.Dst())
	if !l.ip.IsLocal(h.Dst()) {
		src = inet.Addr{} // let ip choose
	}
	if err := l.ip.Write(src, inet.AddrFrom4(h.Src()), inet.ProtoICMP, b, transport.WriteOptions{}); err != nil {
		l.stats.SendErrors++
		return
	}
	l.stats.ErrorsOut[typ]++
}

// mayReport applies RFC 1122 §3.2.2: no error about an ICMP error, a
// datagram to a broadcast or multicast address, a datagram whose source
// is not a unique host ("a zero address, a loopback address, a broadcast
// address, a multicast address, or a Class E address"), or a fragment
// other than the first.
func (l *Layer) mayReport(h ipv4.Header) bool {
	if h.FragOffset() != 0 {
		return false
	}
	if d := h.Dst(); l.ip.IsBroadcast(d) || d.IsMulticast() {
		return false
	}
	s := h.Src()
	// Not a single host: {0, x} (this network), loopback, multicast,
	// class E (240/4, which includes 255.255.255.255) or a broadcast.
	if s[0] == 0 || s.IsMulticast() || s.IsLoopback() || s.IsReserved() || l.ip.IsBroadcast(s) {
		return false
	}
	if h.Protocol() == inet.ProtoICMP {
		p := h.Payload()
		if len(p) == 0 || IsError(p[0]) {
			return false
		}
	}
	return true
}
