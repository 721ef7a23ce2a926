package hostile

import (
	"encoding/binary"
	"fmt"

	"github.com/mirago/mirago/stack/inet"
)

// IPv6 frame builders for Neighbor Discovery and the parser of the
// victim's IPv6 frames, written byte by byte like frames_test.go's and
// ipv6_test.go's (pseudo6, icmp6m), independently of the stack's
// encoders.

// IPv6 addresses of the test link: the victim's link-local address is
// the modified EUI-64 of victimMAC (RFC 4291 appendix A), which it forms
// itself; the others are the harness's.
var (
	victimLL = ll6(victimMAC)
	peerLL   = ll6(peerMAC)
	gwLL     = ll6(gwMAC)
	allNodes = a6("ff02::1")
)

// a6 parses an IPv6 address.
func a6(s string) inet.Addr { return inet.MustParseAddr(s) }

// ll6 is the EUI-64 link-local address of m.
func ll6(m inet.MAC) inet.Addr {
	return inet.AddrFrom16([16]byte{0xfe, 0x80, 8: m[0] ^ 2, 9: m[1], 10: m[2], 11: 0xff, 12: 0xfe, 13: m[3], 14: m[4], 15: m[5]})
}

// snode is the solicited-node group of a (RFC 4291 §2.7.1).
func snode(a inet.Addr) inet.Addr {
	b := a.As16()
	return inet.AddrFrom16([16]byte{0xff, 0x02, 11: 1, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]})
}

// mcastMAC is the Ethernet group of an IPv6 multicast address (RFC 2464
// §7).
func mcastMAC(a inet.Addr) inet.MAC {
	b := a.As16()
	return inet.MAC{0x33, 0x33, b[12], b[13], b[14], b[15]}
}

// ip6b builds an IPv6 packet: the fixed header (RFC 8200 §3) with next
// header nh, then payload (extension headers included, if any).
func ip6b(src, dst inet.Addr, nh, hop uint8, payload []byte) []byte {
	p := make([]byte, 40+len(payload))
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(len(payload)))
	p[6], p[7] = nh, hop
	s, d := src.As16(), dst.As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	copy(p[40:], payload)
	return p
}

// nd6Frame is an Ethernet frame from srcMAC carrying the ICMPv6 message
// typ/rest/body from src to dst with hop limit hop, sent to dst's MAC
// (its group's for multicast, else the victim's).
func nd6Frame(srcMAC inet.MAC, src, dst inet.Addr, hop, typ uint8, rest uint32, body []byte) []byte {
	m := icmp6m(src, dst, typ, 0, rest, body)
	mac := victimMAC
	if dst.IsMulticast() {
		mac = mcastMAC(dst)
	}
	return eth(mac, srcMAC, ethIPv6, ip6b(src, dst, 58, hop, m))
}

// addr16 appends a's bytes to b.
func addr16(b []byte, a inet.Addr) []byte {
	x := a.As16()
	return append(b, x[:]...)
}

// ND options (RFC 4861 §4.6, RFC 8106 §5.1).
func optLL(typ uint8, m inet.MAC) []byte { return append([]byte{typ, 1}, m[:]...) }

func optPrefix(p inet.Addr, plen uint8, onLink, auto bool, valid, preferred uint32) []byte {
	b := make([]byte, 16, 32)
	b[0], b[1], b[2] = 3, 4, plen
	if onLink {
		b[3] |= 0x80
	}
	if auto {
		b[3] |= 0x40
	}
	binary.BigEndian.PutUint32(b[4:], valid)
	binary.BigEndian.PutUint32(b[8:], preferred)
	return addr16(b, p)
}

func optMTU(mtu uint32) []byte {
	b := []byte{5, 1, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], mtu)
	return b
}

// raBody is the body of a router advertisement after its first 8 bytes
// (reachable time, retrans timer), then options; raRest packs the cur
// hop limit, flags and router lifetime.
func raRest(hop uint8, lifetime uint16) uint32 { return uint32(hop)<<24 | uint32(lifetime) }

func raBody(opts ...[]byte) []byte { return cat(append([][]byte{make([]byte, 8)}, opts...)...) }

// raFrame is a router advertisement from the router at mac/src.
func raFrame(mac inet.MAC, src inet.Addr, hop uint8, lifetime uint16, opts ...[]byte) []byte {
	return nd6Frame(mac, src, allNodes, hop, 134, raRest(64, lifetime), raBody(opts...))
}

// nsFrame is a neighbor solicitation for target.
func nsFrame(mac inet.MAC, src, dst, target inet.Addr, opts ...[]byte) []byte {
	return nd6Frame(mac, src, dst, 255, 135, 0, cat(append([][]byte{addr16(nil, target)}, opts...)...))
}

// naFrame is a neighbor advertisement for target with flags (0x80 R,
// 0x40 S, 0x20 O).
func naFrame(mac inet.MAC, src, dst, target inet.Addr, flags uint8, opts ...[]byte) []byte {
	return nd6Frame(mac, src, dst, 255, 136, uint32(flags)<<24, cat(append([][]byte{addr16(nil, target)}, opts...)...))
}

// fragFrames splits the ICMPv6 message m from src to dst into IPv6
// fragments of at most size payload bytes each (RFC 8200 §4.5); one
// fragment is an atomic fragment (RFC 6946).
func fragFrames(srcMAC inet.MAC, src, dst inet.Addr, hop uint8, id uint32, m []byte, size int) [][]byte {
	var out [][]byte
	mac := victimMAC
	if dst.IsMulticast() {
		mac = mcastMAC(dst)
	}
	for off := 0; off < len(m) || off == 0; off += size {
		end := min(off+size, len(m))
		fh := make([]byte, 8)
		fh[0] = 58
		v := uint16(off)
		if end < len(m) {
			v |= 1
		}
		binary.BigEndian.PutUint16(fh[2:], v)
		binary.BigEndian.PutUint32(fh[4:], id)
		out = append(out, eth(mac, srcMAC, ethIPv6, ip6b(src, dst, 44, hop, cat(fh, m[off:end]))))
		if end == len(m) {
			break
		}
	}
	return out
}

// outIP6 is an IPv6 packet the victim sent.
type outIP6 struct {
	src, dst inet.Addr
	hop      uint8
	nh       uint8  // the upper layer, after a hop-by-hop header if any
	l4       []byte // the upper-layer message
}

// parseOut6 checks and parses one of the victim's IPv6 packets: a
// version 6 header whose payload length fits, and for ICMPv6 (after an
// optional hop-by-hop header) a correct checksum.
func parseOut6(p []byte) (*outIP6, error) {
	if len(p) < 40 || p[0]>>4 != 6 {
		return nil, fmt.Errorf("bad IPv6 header")
	}
	n := int(binary.BigEndian.Uint16(p[4:]))
	if 40+n > len(p) {
		return nil, fmt.Errorf("IPv6 payload length %d in %d bytes", n, len(p)-40)
	}
	o := &outIP6{src: inet.AddrFrom16([16]byte(p[8:24])), dst: inet.AddrFrom16([16]byte(p[24:40])), hop: p[7], nh: p[6]}
	l4 := p[40 : 40+n]
	if o.nh == 0 {
		if len(l4) < 8 || len(l4) < 8+8*int(l4[1]) {
			return nil, fmt.Errorf("bad hop-by-hop header")
		}
		o.nh, l4 = l4[0], l4[8+8*int(l4[1]):]
	}
	o.l4 = l4
	if o.nh == 58 {
		if len(l4) < 4 || cksum(sum16(pseudo6(o.src, o.dst, 58, len(l4)), l4)) != 0 {
			return nil, fmt.Errorf("bad ICMPv6 checksum")
		}
	}
	return o, nil
}

// icmp6Type is the ICMPv6 type of an IPv6 frame the victim sent, or -1.
func (o *outFrame) icmp6Type() int {
	if o.ip6 == nil || o.ip6.nh != 58 || len(o.ip6.l4) == 0 {
		return -1
	}
	return int(o.ip6.l4[0])
}

// autoNA answers a Neighbor Solicitation the victim sent to resolve or
// probe a neighbor (not a DAD probe, which comes from ::) with a
// solicited advertisement from the target, at the MAC its EUI-64
// identifier names (gwMAC for other identifiers); nil for any other
// frame.
func autoNA(f []byte) []byte {
	if len(f) < 14+40+24 || binary.BigEndian.Uint16(f[12:]) != ethIPv6 || f[14+6] != 58 || f[14+40] != 135 {
		return nil
	}
	p := f[14:]
	src := inet.AddrFrom16([16]byte(p[8:24]))
	target := inet.AddrFrom16([16]byte(p[48:64]))
	if src.IsUnspecified() {
		return nil
	}
	t := target.As16()
	mac := gwMAC
	if t[11] == 0xff && t[12] == 0xfe {
		mac = inet.MAC{t[8] ^ 2, t[9], t[10], t[13], t[14], t[15]}
	}
	if mac == victimMAC {
		return nil
	}
	return naFrame(mac, target, src, target, 0x60, optLL(2, mac))
}
