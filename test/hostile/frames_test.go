package hostile

import (
	"encoding/binary"
	"fmt"

	"github.com/mirago/mirago/stack/inet"
)

// Golden-style frame builders, written independently of the stack's own
// encoders so that a bug there cannot hide a bug here.

// Addresses of the test network 10.0.0.0/24.
var (
	victimMAC = inet.MAC{0x02, 0, 0, 0, 0, 0x01}
	peerMAC   = inet.MAC{0x02, 0, 0, 0, 0, 0x02}
	gwMAC     = inet.MAC{0x02, 0, 0, 0, 0, 0xfe}
	victimIP  = inet.Addr4{10, 0, 0, 1}
	peerIP    = inet.Addr4{10, 0, 0, 2}
	gwIP      = inet.Addr4{10, 0, 0, 254}
	bcastIP   = inet.Addr4{10, 0, 0, 255}
)

// TCP flags.
const (
	fFIN = 1 << iota
	fSYN
	fRST
	fPSH
	fACK
	fURG
	fECE
	fCWR
)

const (
	ethIPv4 = 0x0800
	ethARP  = 0x0806
)

// onLink reports whether a is in 10.0.0.0/24.
func onLink(a inet.Addr4) bool { return a[0] == 10 && a[1] == 0 && a[2] == 0 }

// macOf is the harness's MAC for an on-link address; the gateway's MAC for
// anything else.
func macOf(a inet.Addr4) inet.MAC {
	if onLink(a) {
		return inet.MAC{0x02, 0, 0, 0, 0, a[3]}
	}
	return gwMAC
}

// sum16 adds b to a one's-complement running sum.
func sum16(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// cksum folds sum and complements it.
func cksum(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func pseudo(src, dst inet.Addr4, proto uint8, n int) uint32 {
	var p [12]byte
	copy(p[0:], src[:])
	copy(p[4:], dst[:])
	p[9] = proto
	binary.BigEndian.PutUint16(p[10:], uint16(n))
	return sum16(0, p[:])
}

// eth builds an Ethernet II frame.
func eth(dst, src inet.MAC, etype uint16, payload []byte) []byte {
	f := make([]byte, 14+len(payload))
	copy(f[0:], dst[:])
	copy(f[6:], src[:])
	binary.BigEndian.PutUint16(f[12:], etype)
	copy(f[14:], payload)
	return f
}

// iph describes an IPv4 header. Zero fields take sane values; the *Set
// fields override computed ones to build inconsistent headers.
type iph struct {
	src, dst   inet.Addr4
	proto      uint8
	ttl        uint8
	id         uint16
	df, mf     bool
	off        int // fragment offset in bytes (multiple of 8)
	opts       []byte
	ihl        int // IHL override (words); 0 = computed
	totLen     int // total length override; 0 = computed
	badSum     bool
	tos        uint8
	version    int // 0 = 4
	keepSumRaw bool
}

// ip builds an IPv4 datagram with a correct header checksum (unless
// h.badSum).
func ip(h iph, payload []byte) []byte {
	opts := h.opts
	for len(opts)%4 != 0 {
		opts = append(append([]byte(nil), opts...), 0)
	}
	hl := 20 + len(opts)
	p := make([]byte, hl+len(payload))
	ihl := hl / 4
	if h.ihl != 0 {
		ihl = h.ihl
	}
	v := 4
	if h.version != 0 {
		v = h.version
	}
	p[0] = byte(v<<4 | ihl&0xf)
	p[1] = h.tos
	tot := len(p)
	if h.totLen != 0 {
		tot = h.totLen
	}
	binary.BigEndian.PutUint16(p[2:], uint16(tot))
	binary.BigEndian.PutUint16(p[4:], h.id)
	ff := uint16(h.off / 8)
	if h.df {
		ff |= 0x4000
	}
	if h.mf {
		ff |= 0x2000
	}
	binary.BigEndian.PutUint16(p[6:], ff)
	ttl := h.ttl
	if ttl == 0 {
		ttl = 64
	}
	p[8] = ttl
	p[9] = h.proto
	copy(p[12:], h.src[:])
	copy(p[16:], h.dst[:])
	copy(p[20:], opts)
	sumLen := hl
	if ihl*4 < sumLen && ihl*4 >= 0 {
		sumLen = max(ihl*4, 20)
	}
	cs := cksum(sum16(0, p[:sumLen]))
	if h.badSum {
		cs ^= 0x5a5a
	}
	binary.BigEndian.PutUint16(p[10:], cs)
	copy(p[hl:], payload)
	return p
}

// seg describes a TCP segment.
type seg struct {
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
	win          uint16
	urp          uint16
	opts         []byte
	payload      []byte
	doff         int // data offset override (words); 0 = computed
	badSum       bool
	zeroWin      bool // for peer.raw: really advertise 0
}

// tcpb builds a TCP segment with a correct checksum for src->dst.
func tcpb(src, dst inet.Addr4, s seg) []byte {
	opts := s.opts
	for len(opts)%4 != 0 {
		opts = append(append([]byte(nil), opts...), 1) // NOP padding
	}
	hl := 20 + len(opts)
	b := make([]byte, hl+len(s.payload))
	binary.BigEndian.PutUint16(b[0:], s.sport)
	binary.BigEndian.PutUint16(b[2:], s.dport)
	binary.BigEndian.PutUint32(b[4:], s.seq)
	binary.BigEndian.PutUint32(b[8:], s.ack)
	doff := hl / 4
	if s.doff != 0 {
		doff = s.doff
	}
	b[12] = byte(doff << 4)
	b[13] = s.flags
	binary.BigEndian.PutUint16(b[14:], s.win)
	binary.BigEndian.PutUint16(b[18:], s.urp)
	copy(b[20:], opts)
	copy(b[hl:], s.payload)
	cs := cksum(sum16(pseudo(src, dst, 6, len(b)), b))
	if s.badSum {
		cs ^= 0x1234
	}
	binary.BigEndian.PutUint16(b[16:], cs)
	return b
}

// udpb builds a UDP datagram; length overrides the length field when
// non-zero (the checksum is then computed over the bytes present).
func udpb(src, dst inet.Addr4, sport, dport uint16, payload []byte, length int) []byte {
	b := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	l := len(b)
	if length != 0 {
		l = length
	}
	binary.BigEndian.PutUint16(b[4:], uint16(l))
	copy(b[8:], payload)
	cs := cksum(sum16(pseudo(src, dst, 17, l), b[:min(l, len(b))]))
	if cs == 0 {
		cs = 0xffff
	}
	binary.BigEndian.PutUint16(b[6:], cs)
	return b
}

// icmpb builds an ICMP message: type, code, the 4 "rest of header" bytes
// and a body.
func icmpb(typ, code uint8, rest uint32, body []byte) []byte {
	b := make([]byte, 8+len(body))
	b[0], b[1] = typ, code
	binary.BigEndian.PutUint32(b[4:], rest)
	copy(b[8:], body)
	binary.BigEndian.PutUint16(b[2:], cksum(sum16(0, b)))
	return b
}

// arpb builds an ARP packet for Ethernet/IPv4.
func arpb(op uint16, sha inet.MAC, spa inet.Addr4, tha inet.MAC, tpa inet.Addr4) []byte {
	b := make([]byte, 28)
	binary.BigEndian.PutUint16(b[0:], 1)
	binary.BigEndian.PutUint16(b[2:], 0x0800)
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:], op)
	copy(b[8:], sha[:])
	copy(b[14:], spa[:])
	copy(b[18:], tha[:])
	copy(b[24:], tpa[:])
	return b
}

// ipFrame wraps an IPv4 datagram from src in an Ethernet frame to the
// victim.
func ipFrame(src inet.Addr4, datagram []byte) []byte {
	return eth(victimMAC, macOf(src), ethIPv4, datagram)
}

// tcpFrame is a whole frame carrying s from src to the victim.
func tcpFrame(src inet.Addr4, s seg) []byte {
	return ipFrame(src, ip(iph{src: src, dst: victimIP, proto: 6}, tcpb(src, victimIP, s)))
}

// udpFrame is a whole frame carrying a UDP datagram from src to dst.
func udpFrame(src, dst inet.Addr4, sport, dport uint16, payload []byte) []byte {
	return ipFrame(src, ip(iph{src: src, dst: dst, proto: 17}, udpb(src, dst, sport, dport, payload, 0)))
}

// icmpFrame is a whole frame carrying an ICMP message from src to dst.
func icmpFrame(src, dst inet.Addr4, msg []byte) []byte {
	return ipFrame(src, ip(iph{src: src, dst: dst, proto: 1}, msg))
}

// Parsed output of the victim. parseOut checks every checksum, so a test
// also proves the victim's output is well formed.

type outSeg struct {
	src, dst     inet.Addr4
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
	win          uint16
	urp          uint16
	opts         []byte
	payload      []byte
}

type outICMP struct {
	src, dst   inet.Addr4
	typ, code  uint8
	rest       uint32
	body       []byte
	ipTotalLen int
}

type outARP struct {
	op       uint16
	sha, tha inet.MAC
	spa, tpa inet.Addr4
	dst      inet.MAC
}

type outFrame struct {
	dst, src inet.MAC
	etype    uint16
	ipSrc    inet.Addr4
	ipDst    inet.Addr4
	proto    uint8
	tcp      *outSeg
	icmp     *outICMP
	arp      *outARP
	ip6      *outIP6 // frames6_test.go
	raw      []byte
}

func parseOut(f []byte) (*outFrame, error) {
	if len(f) < 14 {
		return nil, fmt.Errorf("runt frame of %d bytes", len(f))
	}
	o := &outFrame{raw: f, etype: binary.BigEndian.Uint16(f[12:])}
	copy(o.dst[:], f[0:6])
	copy(o.src[:], f[6:12])
	p := f[14:]
	switch o.etype {
	case ethARP:
		if len(p) < 28 {
			return nil, fmt.Errorf("short ARP")
		}
		a := &outARP{op: binary.BigEndian.Uint16(p[6:]), dst: o.dst}
		copy(a.sha[:], p[8:])
		copy(a.spa[:], p[14:])
		copy(a.tha[:], p[18:])
		copy(a.tpa[:], p[24:])
		o.arp = a
		return o, nil
	case ethIPv4:
	case ethIPv6:
		ip6, err := parseOut6(p)
		if err != nil {
			return nil, err
		}
		o.ip6 = ip6
		return o, nil
	default:
		return nil, fmt.Errorf("unexpected ethertype %#04x", o.etype)
	}
	if len(p) < 20 || p[0]>>4 != 4 {
		return nil, fmt.Errorf("bad IPv4 header")
	}
	hl := int(p[0]&0xf) * 4
	tot := int(binary.BigEndian.Uint16(p[2:]))
	if hl < 20 || tot < hl || tot > len(p) {
		return nil, fmt.Errorf("bad IPv4 lengths ihl=%d tot=%d have=%d", hl, tot, len(p))
	}
	if cksum(sum16(0, p[:hl])) != 0 {
		return nil, fmt.Errorf("bad IPv4 header checksum")
	}
	copy(o.ipSrc[:], p[12:16])
	copy(o.ipDst[:], p[16:20])
	o.proto = p[9]
	frag := binary.BigEndian.Uint16(p[6:])&0x3fff != 0
	l4 := p[hl:tot]
	if frag {
		return o, nil
	}
	switch o.proto {
	case 6:
		if len(l4) < 20 || int(l4[12]>>4)*4 < 20 || int(l4[12]>>4)*4 > len(l4) {
			return nil, fmt.Errorf("bad TCP header")
		}
		if cksum(sum16(pseudo(o.ipSrc, o.ipDst, 6, len(l4)), l4)) != 0 {
			return nil, fmt.Errorf("bad TCP checksum")
		}
		d := int(l4[12]>>4) * 4
		o.tcp = &outSeg{
			src: o.ipSrc, dst: o.ipDst,
			sport: binary.BigEndian.Uint16(l4[0:]), dport: binary.BigEndian.Uint16(l4[2:]),
			seq: binary.BigEndian.Uint32(l4[4:]), ack: binary.BigEndian.Uint32(l4[8:]),
			flags: l4[13], win: binary.BigEndian.Uint16(l4[14:]), urp: binary.BigEndian.Uint16(l4[18:]),
			opts: l4[20:d], payload: l4[d:],
		}
	case 1:
		if len(l4) < 8 {
			return nil, fmt.Errorf("short ICMP")
		}
		if cksum(sum16(0, l4)) != 0 {
			return nil, fmt.Errorf("bad ICMP checksum")
		}
		o.icmp = &outICMP{src: o.ipSrc, dst: o.ipDst, typ: l4[0], code: l4[1],
			rest: binary.BigEndian.Uint32(l4[4:]), body: l4[8:], ipTotalLen: tot}
	}
	return o, nil
}

// setIPTotal rewrites an IPv4 datagram's total length and fixes the header
// checksum.
func setIPTotal(d []byte, n int) []byte {
	binary.BigEndian.PutUint16(d[2:], uint16(n))
	d[10], d[11] = 0, 0
	binary.BigEndian.PutUint16(d[10:], cksum(sum16(0, d[:20])))
	return d
}

// setDataOffset rewrites a TCP segment's data offset and fixes the
// checksum.
func setDataOffset(src, dst inet.Addr4, b []byte, doff int) []byte {
	b[12] = byte(doff<<4) | b[12]&0xf
	b[16], b[17] = 0, 0
	binary.BigEndian.PutUint16(b[16:], cksum(sum16(pseudo(src, dst, 6, len(b)), b)))
	return b
}

// tcpOptMSS etc. build TCP options.
func optMSS(v uint16) []byte { return []byte{2, 4, byte(v >> 8), byte(v)} }
func optWS(s uint8) []byte   { return []byte{1, 3, 3, s} }
func optSACKOK() []byte      { return []byte{1, 1, 4, 2} }
func optTS(val, ecr uint32) []byte {
	b := []byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], val)
	binary.BigEndian.PutUint32(b[8:], ecr)
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// parseTCPOpts returns MSS, window scale and whether timestamps are
// present in a victim segment's options.
func parseTCPOpts(o []byte) (mss int, ws int, ts bool, tsVal, tsEcr uint32) {
	mss, ws = -1, -1
	for len(o) > 0 {
		switch o[0] {
		case 0:
			return
		case 1:
			o = o[1:]
			continue
		}
		if len(o) < 2 || int(o[1]) < 2 || int(o[1]) > len(o) {
			return
		}
		switch {
		case o[0] == 2 && o[1] == 4:
			mss = int(binary.BigEndian.Uint16(o[2:]))
		case o[0] == 3 && o[1] == 3:
			ws = int(o[2])
		case o[0] == 8 && o[1] == 10:
			ts = true
			tsVal = binary.BigEndian.Uint32(o[2:])
			tsEcr = binary.BigEndian.Uint32(o[6:])
		}
		o = o[o[1]:]
	}
	return
}
