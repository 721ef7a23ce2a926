package stacktest

import (
	"encoding/binary"
	"fmt"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/tcp"
	"github.com/mirago/mirago/stack/udp"
)

// checkFrame6 applies CheckFrames' IPv6 rules to the frame fr:
//
//   - IPv6: version 6, exactly 40 + Payload Length bytes; a source that is
//     one of the stack's addresses (FrameChecker.SetIPv6; any IPv6
//     unicast that is not loopback or IPv4-mapped when none was given),
//     or :: for Neighbor Discovery and MLD alone; a destination that is
//     not the stack's own, ::, ::1 or IPv4-mapped; to a multicast group,
//     the Ethernet destination 33:33 and the group's low 32 bits (RFC
//     2464 §7); an extension-header chain the stack's UpperLayer walks;
//   - fragments: non-last ones a multiple of 8 bytes, none past 65535,
//     put back together by (source, destination, identification) and the
//     whole packet checked as one not fragmented;
//   - ICMPv6: a correct checksum; an error (RFC 4443 §2.4) no larger
//     than 1280 bytes, to one unique node, never about an ICMPv6 error
//     or a redirect;
//   - UDP: the length field equals the datagram's and the checksum,
//     mandatory over IPv6 (RFC 8200 §8.1), is non-zero and correct;
//   - TCP: a valid data offset, a correct checksum, never to multicast;
//   - ND messages with hop limit 255 and no extension header (RFC 4861
//     §6.1, §7.1, §8.1), MLD messages with hop limit 1 after a
//     hop-by-hop header (RFC 3810 §5).
func (c *FrameChecker) checkFrame6(s *Sent, fr ethernet.Frame) error {
	h, err := ipv6.ParseHeader(fr.Payload())
	if err != nil {
		return fmt.Errorf("ipv6: %v", err)
	}
	if len(h) != len(fr.Payload()) && len(fr.Payload()) > ethernet.MinPayload {
		return fmt.Errorf("ipv6: %d bytes after a %d-byte packet", len(fr.Payload())-len(h), len(h))
	}
	s.IP6 = h
	src, dst := h.Src(), h.Dst()
	switch {
	case !dst.Is6() || dst.IsUnspecified() || dst.IsLoopback() || c.isOurs6(dst):
		return fmt.Errorf("ipv6: a packet to %v on the wire", dst)
	case dst.IsMulticast() && fr.Dst() != inet.MulticastMAC(dst):
		return fmt.Errorf("ipv6: to %v in a frame to %v, not %v", dst, fr.Dst(), inet.MulticastMAC(dst))
	case !dst.IsMulticast() && fr.Dst().IsMulticast():
		return fmt.Errorf("ipv6: to unicast %v in a frame to %v", dst, fr.Dst())
	case !src.Is6() || src.IsMulticast() || src.IsLoopback():
		return fmt.Errorf("ipv6: source %v", src)
	case !src.IsUnspecified() && len(c.ip6) > 0 && !c.isOurs6(src):
		return fmt.Errorf("ipv6: source %v, not one of the stack's %v", src, c.ip6)
	case h.HopLimit() == 0:
		return fmt.Errorf("ipv6: hop limit 0")
	}
	if h.NextHeader() == inet.ProtoFragment {
		whole, err := c.reassemble6(h)
		if err != nil || whole == nil {
			return err
		}
		h = whole
	}
	proto, off, ok := ipv6.UpperLayer(h, 8)
	if !ok {
		return fmt.Errorf("ipv6: an extension-header chain cut short, too long or fragmented twice: % x", h[:min(len(h), 80)])
	}
	body := h[off:]
	if src.IsUnspecified() && !(proto == inet.ProtoICMPv6 && len(body) > 0 && isNDorMLD(body[0])) {
		return fmt.Errorf("ipv6: from :: with protocol %d (only ND and MLD may)", proto)
	}
	switch proto {
	case inet.ProtoICMPv6:
		m, err := icmpv6.ParseMessage(body)
		if err != nil {
			return fmt.Errorf("icmpv6: %v", err)
		}
		s.ICMPv6 = m
		if !m.ValidChecksum(src, dst) {
			return fmt.Errorf("icmpv6: bad checksum %#04x", m.Checksum())
		}
		if icmpv6.IsError(m.Type()) {
			return checkICMPv6Error(m, h)
		}
		if err := checkNDorMLD(m.Type(), h, off); err != nil {
			return err
		}
	case inet.ProtoUDP:
		u, err := udp.ParseHeader(body)
		if err != nil {
			return fmt.Errorf("udp: %v", err)
		}
		s.UDP = u
		switch {
		case len(u) != len(body):
			return fmt.Errorf("udp: length field %d in a %d-byte datagram", u.Length(), len(body))
		case u.Checksum() == 0:
			return fmt.Errorf("udp: no checksum over IPv6 (RFC 8200 §8.1)")
		case !u.ValidChecksum(src, dst):
			return fmt.Errorf("udp: bad checksum %#04x", u.Checksum())
		}
	case inet.ProtoTCP:
		t, err := tcp.ParseHeader(body)
		if err != nil {
			return fmt.Errorf("tcp: %v", err)
		}
		s.TCP = t
		sum := checksum.Pseudo(src, dst, inet.ProtoTCP, len(body))
		switch {
		case checksum.Fold(checksum.Sum(body, sum)) != 0xffff:
			return fmt.Errorf("tcp: bad checksum %#04x", t.Checksum())
		case dst.IsMulticast():
			return fmt.Errorf("tcp: segment to %v", dst)
		}
	default:
		return fmt.Errorf("ipv6: upper-layer protocol %d, not ICMPv6, UDP or TCP", proto)
	}
	return nil
}

// checkNDorMLD checks the hop limit and the header chain of an ND or MLD
// message of type t, at off in h.
func checkNDorMLD(t uint8, h ipv6.Header, off int) error {
	switch {
	case t >= icmpv6.TypeRouterSolicit && t <= icmpv6.TypeRedirect:
		if h.HopLimit() != 255 || off != ipv6.HeaderLen {
			return fmt.Errorf("icmpv6: ND type %d with hop limit %d after %d header bytes", t, h.HopLimit(), off)
		}
	case isNDorMLD(t):
		if h.HopLimit() != 1 || h.NextHeader() != inet.ProtoHopByHop {
			return fmt.Errorf("icmpv6: MLD type %d with hop limit %d, next header %d", t, h.HopLimit(), h.NextHeader())
		}
	}
	return nil
}

func isNDorMLD(t uint8) bool {
	return t >= icmpv6.TypeMLDQuery && t <= icmpv6.TypeRedirect || t == icmpv6.TypeMLDv2Report
}

func (c *FrameChecker) isOurs6(a inet.Addr) bool {
	for _, x := range c.ip6 {
		if x == a {
			return true
		}
	}
	return false
}

// checkICMPv6Error applies RFC 4443 §2.4 (c) and (e) to the error m sent
// in h.
func checkICMPv6Error(m icmpv6.Message, h ipv6.Header) error {
	if d := h.Dst(); d.IsMulticast() || d.IsUnspecified() {
		return fmt.Errorf("icmpv6: error type %d to %v, not one node (RFC 4443 §2.4 (e))", m.Type(), d)
	}
	if len(h) > 1280 {
		return fmt.Errorf("icmpv6: error of %d bytes, over the minimum MTU (RFC 4443 §2.4 (c))", len(h))
	}
	q, err := ipv6.ParseQuoted(m.Body())
	if err != nil {
		return fmt.Errorf("icmpv6: error type %d quotes no IPv6 header: %v", m.Type(), err)
	}
	if proto, off, ok := ipv6.UpperLayer(q, 8); ok && proto == inet.ProtoICMPv6 && off < len(q) {
		if t := q[off]; icmpv6.IsError(t) || t == icmpv6.TypeRedirect {
			return fmt.Errorf("icmpv6: error type %d about ICMPv6 type %d (RFC 4443 §2.4 (e))", m.Type(), t)
		}
	}
	if q.Dst().IsMulticast() && m.Type() != icmpv6.TypePacketTooBig &&
		!(m.Type() == icmpv6.TypeParamProblem && m.Code() == icmpv6.CodeUnknownOption) {
		return fmt.Errorf("icmpv6: error type %d code %d about a packet to %v (RFC 4443 §2.4 (e.3))", m.Type(), m.Code(), q.Dst())
	}
	return nil
}

type fragKey6 struct {
	src, dst inet.Addr
	id       uint32
}

// reassemble6 adds the fragment h (a Fragment header right after the
// IPv6 header: the stack sends no other extension header before one) and
// returns the whole packet once every byte has come, or nil.
func (c *FrameChecker) reassemble6(h ipv6.Header) (ipv6.Header, error) {
	fh, err := ipv6.ParseFragmentHeader(h.Payload())
	if err != nil {
		return nil, fmt.Errorf("ipv6: %v", err)
	}
	if fh.IsAtomic() {
		return nil, fmt.Errorf("ipv6: an atomic fragment (RFC 8021: never sent)")
	}
	k := fragKey6{h.Src(), h.Dst(), fh.ID()}
	fr := c.frags6[k]
	if fr == nil {
		fr = &fragments{total: -1}
		c.frags6[k] = fr
	}
	off, p := fh.Offset(), h.Payload()[8:]
	if fh.More() && len(p)%8 != 0 {
		return nil, fmt.Errorf("ipv6: fragment at %d with M set holds %d bytes, not a multiple of 8", off, len(p))
	}
	end := off + len(p)
	if end > 65535-8 {
		return nil, fmt.Errorf("ipv6: fragment ends at %d, beyond a packet's size", end)
	}
	if !fh.More() {
		if fr.total >= 0 && fr.total != end {
			return nil, fmt.Errorf("ipv6: two last fragments (ending at %d and %d)", fr.total, end)
		}
		fr.total = end
	}
	if off == 0 {
		hdr := append([]byte(nil), h[:ipv6.HeaderLen]...)
		hdr[6] = fh.NextHeader()
		fr.hdr = hdr
	}
	if len(fr.data) < end {
		fr.data = append(fr.data, make([]byte, end-len(fr.data))...)
		fr.got = append(fr.got, make([]bool, (end+7)/8-len(fr.got))...)
	}
	for b := off / 8; b < (end+7)/8; b++ {
		if fr.got[b] {
			return nil, fmt.Errorf("ipv6: fragments overlap at byte %d", b*8)
		}
		fr.got[b] = true
	}
	copy(fr.data[off:], p)
	fr.have += len(p)
	if fr.total < 0 || fr.hdr == nil || fr.have != fr.total {
		return nil, nil
	}
	delete(c.frags6, k)
	whole := append(fr.hdr, fr.data[:fr.total]...)
	binary.BigEndian.PutUint16(whole[4:], uint16(fr.total))
	return ipv6.Header(whole), nil
}
