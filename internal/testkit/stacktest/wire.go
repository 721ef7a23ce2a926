package stacktest

import (
	"encoding/binary"
	"fmt"

	"github.com/mirago/mirago/stack/arp"
	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/icmp"
	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/tcp"
	"github.com/mirago/mirago/stack/udp"
)

// Sent is one frame a stack sent, parsed by the stack's own parsers.
// Exactly one of ARP, IP and IP6 is set; for IP, at most one of ICMP, UDP
// and TCP, for IP6 one of ICMPv6, UDP and TCP (none for a fragment, whose
// transport CheckFrames checks once the datagram is whole).
type Sent struct {
	Frame  ethernet.Frame
	ARP    arp.Packet
	IP     ipv4.Header
	ICMP   icmp.Message
	IP6    ipv6.Header
	ICMPv6 icmpv6.Message
	UDP    udp.Header
	TCP    tcp.Header
}

// CheckFrames parses every frame in frames as one sent by the stack whose
// MAC and IPv4 address are mac and ip (ip may be zero before the stack
// has an address), and returns them parsed. It returns an error naming
// the first frame that breaks a rule:
//
//   - Ethernet: a well-formed untagged frame from mac, of at most 1514
//     bytes, carrying ARP, IPv4 or IPv6 (checkFrame6 has IPv6's rules);
//   - ARP: valid fixed fields (Ethernet/IPv4, request or reply), sent by
//     mac from ip (a request may come from 0.0.0.0: an RFC 5227 probe);
//   - IPv4: a valid header with a correct checksum, from ip, not to ip;
//     fragments are put back together (by source, destination, protocol
//     and ID) and the whole datagram is checked as one that was not
//     fragmented; every datagram in frames must be complete;
//   - ICMP: a correct checksum; an error (RFC 1122 §3.2.2) never to a
//     source that is not one unique host (0/8, loopback, multicast, class
//     E, broadcast), never about an ICMP error or a non-initial fragment;
//   - UDP: the length field equals the datagram's, a non-zero correct
//     checksum over the pseudo-header;
//   - TCP: a valid data offset, a correct checksum over the
//     pseudo-header, never to a multicast or broadcast address.
func CheckFrames(frames [][]byte, mac inet.MAC, ip inet.Addr4) ([]Sent, error) {
	c := NewFrameChecker(mac, ip)
	var out []Sent
	for i, f := range frames {
		s, err := c.Add(f)
		if err != nil {
			return out, fmt.Errorf("frame %d of %d sent: %v", i+1, len(frames), err)
		}
		out = append(out, s)
	}
	return out, c.Pending()
}

// FrameChecker applies CheckFrames' rules to frames one at a time, as a
// device sends them, so that a test need not keep them.
type FrameChecker struct {
	mac    inet.MAC
	ip     inet.Addr4
	ip6    []inet.Addr
	frags  map[fragKey]*fragments
	frags6 map[fragKey6]*fragments
}

// NewFrameChecker checks frames sent by the stack at mac and ip.
func NewFrameChecker(mac inet.MAC, ip inet.Addr4) *FrameChecker {
	return &FrameChecker{mac: mac, ip: ip, frags: map[fragKey]*fragments{}, frags6: map[fragKey6]*fragments{}}
}

// SetIPv6 gives the stack's IPv6 addresses: IPv6 packets must come from
// one of them (or :: for ND and MLD). Without it any unicast source that
// is not loopback or IPv4-mapped passes.
func (c *FrameChecker) SetIPv6(addrs ...inet.Addr) { c.ip6 = append(c.ip6[:0], addrs...) }

// Add checks one frame and returns it parsed.
func (c *FrameChecker) Add(f []byte) (Sent, error) {
	s, err := c.checkFrame(f)
	if err != nil {
		return s, fmt.Errorf("%v (% x)", err, f)
	}
	return s, nil
}

// Pending reports a datagram whose fragments were sent only in part.
func (c *FrameChecker) Pending() error {
	for k, fr := range c.frags {
		return fmt.Errorf("datagram %v->%v proto %d id %d: %d bytes of fragments sent, never the whole datagram",
			k.src, k.dst, k.proto, k.id, fr.have)
	}
	for k, fr := range c.frags6 {
		return fmt.Errorf("IPv6 packet %v->%v id %d: %d bytes of fragments sent, never the whole packet",
			k.src, k.dst, k.id, fr.have)
	}
	return nil
}

func (c *FrameChecker) checkFrame(f []byte) (Sent, error) {
	mac, ip, frags := c.mac, c.ip, c.frags
	var s Sent
	fr, err := ethernet.ParseFrame(f)
	if err != nil {
		return s, fmt.Errorf("ethernet: %v", err)
	}
	s.Frame = fr
	switch {
	case fr.IsTagged():
		return s, fmt.Errorf("ethernet: a VLAN-tagged frame")
	case fr.Src() != mac:
		return s, fmt.Errorf("ethernet: source %v, not the stack's %v", fr.Src(), mac)
	case len(f) > ethernet.HeaderLen+1500:
		return s, fmt.Errorf("ethernet: %d bytes, over the 1514 of an MTU-1500 link", len(f))
	}
	switch fr.Type() {
	case inet.EtherTypeARP:
		p, err := arp.ParsePacket(fr.Payload())
		if err != nil {
			return s, fmt.Errorf("arp: %v", err)
		}
		s.ARP = p
		if p.SenderMAC() != mac {
			return s, fmt.Errorf("arp: sender hardware address %v, not the stack's %v", p.SenderMAC(), mac)
		}
		if p.SenderIP() != ip && !(p.Op() == arp.OpRequest && p.SenderIP().IsUnspecified()) {
			return s, fmt.Errorf("arp: sender protocol address %v, not the stack's %v", p.SenderIP(), ip)
		}
		return s, nil
	case inet.EtherTypeIPv4:
		h, err := ipv4.ParseHeader(fr.Payload())
		if err != nil {
			return s, fmt.Errorf("ipv4: %v", err)
		}
		s.IP = h
		switch {
		case !h.ValidChecksum():
			return s, fmt.Errorf("ipv4: bad header checksum %#04x", h.Checksum())
		case h.Src() != ip:
			return s, fmt.Errorf("ipv4: source %v, not the stack's %v", h.Src(), ip)
		case h.Dst() == ip:
			return s, fmt.Errorf("ipv4: a datagram to the stack's own address %v on the wire", ip)
		}
		if h.IsFragment() {
			whole, err := reassemble(frags, h)
			if err != nil || whole == nil {
				return s, err
			}
			h = whole
		}
		return s, checkTransport(&s, h)
	case inet.EtherTypeIPv6:
		return s, c.checkFrame6(&s, fr)
	default:
		return s, fmt.Errorf("ethernet: EtherType %#04x, not ARP, IPv4 or IPv6", fr.Type())
	}
}

// checkTransport checks the transport message of the whole datagram h.
func checkTransport(s *Sent, h ipv4.Header) error {
	src, dst, body := h.Src(), h.Dst(), h.Payload()
	switch h.Protocol() {
	case inet.ProtoICMP:
		m, err := icmp.ParseMessage(body)
		if err != nil {
			return fmt.Errorf("icmp: %v", err)
		}
		s.ICMP = m
		if !m.ValidChecksum() {
			return fmt.Errorf("icmp: bad checksum %#04x", m.Checksum())
		}
		if icmp.IsError(m.Type()) {
			return checkICMPError(m, dst)
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
			return fmt.Errorf("udp: no checksum (the stack always computes one)")
		case !u.ValidChecksum(inet.AddrFrom4(src), inet.AddrFrom4(dst)):
			return fmt.Errorf("udp: bad checksum %#04x", u.Checksum())
		}
	case inet.ProtoTCP:
		t, err := tcp.ParseHeader(body)
		if err != nil {
			return fmt.Errorf("tcp: %v", err)
		}
		s.TCP = t
		sum := checksum.Pseudo(inet.AddrFrom4(src), inet.AddrFrom4(dst), inet.ProtoTCP, len(body))
		switch {
		case checksum.Fold(checksum.Sum(body, sum)) != 0xffff:
			return fmt.Errorf("tcp: bad checksum %#04x", t.Checksum())
		case dst.IsMulticast() || dst.IsBroadcast():
			return fmt.Errorf("tcp: segment to %v", dst)
		}
	default:
		return fmt.Errorf("ipv4: protocol %d, not ICMP, UDP or TCP", h.Protocol())
	}
	return nil
}

// checkICMPError applies RFC 1122 §3.2.2: an ICMP error must not go to a
// source that is not one unique host, nor be about an ICMP error or a
// fragment other than the first.
func checkICMPError(m icmp.Message, dst inet.Addr4) error {
	if dst.IsReserved() || dst.IsMulticast() || dst.IsLoopback() || dst[0] == 0 || dst.IsBroadcast() {
		return fmt.Errorf("icmp: error type %d to %v, not a unique host (RFC 1122 §3.2.2)", m.Type(), dst)
	}
	q, err := ipv4.ParseQuoted(m.Body())
	if err != nil {
		return fmt.Errorf("icmp: error type %d quotes no IPv4 header: %v", m.Type(), err)
	}
	if q.FragOffset() != 0 {
		return fmt.Errorf("icmp: error type %d about a non-initial fragment (RFC 1122 §3.2.2)", m.Type())
	}
	if q.Protocol() == inet.ProtoICMP && len(q.Payload()) > 0 && icmp.IsError(q.Payload()[0]) {
		return fmt.Errorf("icmp: error type %d about ICMP error type %d (RFC 1122 §3.2.2)", m.Type(), q.Payload()[0])
	}
	return nil
}

type fragKey struct {
	src, dst inet.Addr4
	proto    uint8
	id       uint16
}

// fragments is one datagram being put back together.
type fragments struct {
	hdr   []byte // the first fragment's header
	data  []byte
	got   []bool // per 8-byte block
	have  int
	total int // payload length, once the last fragment came (-1 before)
}

// reassemble adds fragment h and returns the whole datagram once every
// byte has come, or nil.
func reassemble(frags map[fragKey]*fragments, h ipv4.Header) (ipv4.Header, error) {
	k := fragKey{h.Src(), h.Dst(), h.Protocol(), h.ID()}
	fr := frags[k]
	if fr == nil {
		fr = &fragments{total: -1}
		frags[k] = fr
	}
	off, p := h.FragOffset(), h.Payload()
	if h.MF() && len(p)%8 != 0 {
		return nil, fmt.Errorf("ipv4: fragment at %d with MF set holds %d bytes, not a multiple of 8", off, len(p))
	}
	end := off + len(p)
	if end > 65535-h.HeaderLen() {
		return nil, fmt.Errorf("ipv4: fragment ends at %d, beyond a datagram's size", end)
	}
	if !h.MF() {
		if fr.total >= 0 && fr.total != end {
			return nil, fmt.Errorf("ipv4: two last fragments (ending at %d and %d)", fr.total, end)
		}
		fr.total = end
	}
	if off == 0 {
		fr.hdr = append([]byte(nil), h[:h.HeaderLen()]...)
	}
	if len(fr.data) < end {
		fr.data = append(fr.data, make([]byte, end-len(fr.data))...)
		fr.got = append(fr.got, make([]bool, (end+7)/8-len(fr.got))...)
	}
	for b := off / 8; b < (end+7)/8; b++ {
		if fr.got[b] {
			return nil, fmt.Errorf("ipv4: fragments overlap at byte %d", b*8)
		}
		fr.got[b] = true
	}
	copy(fr.data[off:], p)
	fr.have += len(p)
	if fr.total < 0 || fr.hdr == nil || fr.have != fr.total {
		return nil, nil
	}
	delete(frags, k)
	whole := append(fr.hdr, fr.data[:fr.total]...)
	binary.BigEndian.PutUint16(whole[2:], uint16(len(whole)))
	binary.BigEndian.PutUint16(whole[6:], 0) // neither MF nor an offset now
	return ipv4.Header(whole), nil
}
