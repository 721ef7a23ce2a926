package tap

// TSO-style merging of queued TCP segments into one large write, marked
// with a virtio-net header (GSO_TCPV4, NEEDS_CSUM) so that the kernel
// splits or accepts it as it does for a VM doing TSO. Segments join only
// when they follow on in sequence, their headers match but for IP ID,
// length and checksums, every one but the last is full size, and both
// their checksums verify (the kernel will not check them again).

import (
	"encoding/binary"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// buildWrite fills d.iov with the next write, starting at slot t of the
// ring (h is the head), and returns how many slots it takes and its length
// in bytes.
func (d *Device) buildWrite(t, h uint64) (slots, bytes int) {
	r := &d.tx
	s0, n0 := r.slot(t)
	d.niov = 0
	if r.hdr == 0 {
		d.add(s0[:n0])
		return 1, n0
	}
	hdr := s0[:vnetHdrLen]
	clear(hdr)
	f0 := s0[vnetHdrLen : vnetHdrLen+n0]
	d.add(s0[:vnetHdrLen+n0])
	seg0, ok := parseSeg(f0)
	if !ok || seg0.flags != tcpACK || seg0.payload == 0 || h-t < 2 {
		return 1, vnetHdrLen + n0
	}
	gso := seg0.payload
	total := n0 // frame bytes of the coalesced segment
	next := seg0.seq + uint32(seg0.payload)
	last := seg0
	k := 1
	for t+uint64(k) < h && k < maxRunSegs && last.payload == gso && last.flags == tcpACK {
		sj, nj := r.slot(t + uint64(k))
		fj := sj[vnetHdrLen : vnetHdrLen+nj]
		seg, ok := parseSeg(fj)
		if !ok || seg.seq != next || seg.payload == 0 || seg.payload > gso || seg.flags&^tcpPSH != tcpACK ||
			total-netif.EthernetHeaderLen+seg.payload > maxRunIPLen ||
			!sameFlow(f0, fj, seg0.hlen) {
			break
		}
		if k == 1 && !(ipChecksumOK(f0) && tcpChecksumOK(f0)) {
			break
		}
		if !(ipChecksumOK(fj) && tcpChecksumOK(fj)) {
			break
		}
		d.add(fj[seg.hlen:])
		total += seg.payload
		next += uint32(seg.payload)
		last = seg
		k++
	}
	if k == 1 {
		return 1, vnetHdrLen + n0
	}
	// Rewrite the first frame's headers for the whole run.
	ip := f0[netif.EthernetHeaderLen:]
	ipLen := total - netif.EthernetHeaderLen
	binary.BigEndian.PutUint16(ip[2:], uint16(ipLen))
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], checksum.Checksum(ip[:ipv4HeaderLen], 0))
	tcp := ip[ipv4HeaderLen:]
	tcp[13] |= last.flags & tcpPSH
	// With NEEDS_CSUM the checksum field holds the pseudo-header sum and
	// the kernel takes the segment as checksummed (CHECKSUM_PARTIAL);
	// every segment's own checksum was verified above.
	src, dst := inet.AddrFrom4(inet.Addr4(ip[12:16])), inet.AddrFrom4(inet.Addr4(ip[16:20]))
	ps := checksum.Fold(checksum.Pseudo(src, dst, inet.ProtoTCP, ipLen-ipv4HeaderLen))
	binary.BigEndian.PutUint16(tcp[16:], ps)
	hdr[0] = vnetFlagNeedsCsum
	hdr[1] = vnetGSOTCPv4
	ne := binary.NativeEndian
	ne.PutUint16(hdr[2:], uint16(seg0.hlen))
	ne.PutUint16(hdr[4:], uint16(gso))
	ne.PutUint16(hdr[6:], netif.EthernetHeaderLen+ipv4HeaderLen)
	ne.PutUint16(hdr[8:], 16) // offsetof(struct tcphdr, check)
	return k, vnetHdrLen + total
}

const (
	ipv4HeaderLen = 20
	tcpACK        = 0x10
	tcpPSH        = 0x08
)

// seg is what buildWrite needs of a TCP/IPv4 frame.
type seg struct {
	hlen    int // Ethernet, IPv4 and TCP headers
	payload int
	seq     uint32
	flags   uint8
}

// parseSeg parses an untagged Ethernet frame carrying an unfragmented
// TCP/IPv4 segment with a 20-byte IPv4 header and no padding, the only
// kind buildWrite coalesces.
func parseSeg(f []byte) (seg, bool) {
	const eth = netif.EthernetHeaderLen
	if len(f) < eth+ipv4HeaderLen+20 || f[12] != 0x08 || f[13] != 0x00 {
		return seg{}, false
	}
	ip := f[eth:]
	if ip[0] != 0x45 || ip[9] != 6 || ip[6]&0x3f != 0 || ip[7] != 0 ||
		int(binary.BigEndian.Uint16(ip[2:])) != len(ip) {
		return seg{}, false
	}
	tcp := ip[ipv4HeaderLen:]
	doff := int(tcp[12]>>4) * 4
	if doff < 20 || doff > len(tcp) {
		return seg{}, false
	}
	return seg{
		hlen:    eth + ipv4HeaderLen + doff,
		payload: len(tcp) - doff,
		seq:     binary.BigEndian.Uint32(tcp[4:]),
		flags:   tcp[13],
	}, true
}

// sameFlow reports whether frame b (already parsed) can follow frame a in
// one coalesced segment: the same Ethernet header; IPv4 header equal but
// for length, ID and checksum; TCP header equal but for the sequence
// number, checksum and PSH; the same options. hlen is a's header length.
func sameFlow(a, b []byte, hlen int) bool {
	const eth = netif.EthernetHeaderLen
	if len(b) < hlen {
		return false
	}
	ia, ib := a[eth:], b[eth:]
	ta, tb := ia[ipv4HeaderLen:hlen-eth], ib[ipv4HeaderLen:hlen-eth]
	return string(a[:eth]) == string(b[:eth]) &&
		ia[1] == ib[1] && // TOS
		string(ia[6:10]) == string(ib[6:10]) && // flags, fragment offset, TTL, protocol
		string(ia[12:20]) == string(ib[12:20]) && // addresses
		string(ta[0:4]) == string(tb[0:4]) && // ports
		string(ta[8:13]) == string(tb[8:13]) && // ACK, data offset
		string(ta[14:16]) == string(tb[14:16]) && // window
		string(ta[18:]) == string(tb[18:]) // urgent pointer, options
}

// ipChecksumOK verifies the IPv4 header checksum of a frame parseSeg
// accepted.
func ipChecksumOK(f []byte) bool {
	ip := f[netif.EthernetHeaderLen:]
	return checksum.Fold(checksum.Sum(ip[:ipv4HeaderLen], 0)) == 0xffff
}

// tcpChecksumOK verifies the TCP checksum of a frame parseSeg accepted.
func tcpChecksumOK(f []byte) bool {
	ip := f[netif.EthernetHeaderLen:]
	src, dst := inet.AddrFrom4(inet.Addr4(ip[12:16])), inet.AddrFrom4(inet.Addr4(ip[16:20]))
	tcp := ip[ipv4HeaderLen:]
	return checksum.Fold(checksum.Sum(tcp, checksum.Pseudo(src, dst, inet.ProtoTCP, len(tcp)))) == 0xffff
}
