package ndp

import (
	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/pkt"
)

// ndHopLimit is the hop limit of every ND message, which receivers check
// to know it was not forwarded (RFC 4861 §6.1, §7.1, §8.1).
const ndHopLimit = 255

// begin empties b for a message of n bytes and returns them.
func (l *Layer) begin(b *pkt.Buf, n int) []byte {
	b.Reset(l.eth.Headroom() + ipv6.HeaderLen)
	return b.Append(n)
}

// seal sets the checksum of the ICMPv6 message in b and prepends the
// IPv6 header from src to dst.
func (l *Layer) seal(b *pkt.Buf, src, dst inet.Addr) bool {
	m := b.Bytes()
	icmpv6.SetChecksum(m, src, dst, 0, 0)
	h, err := b.Prepend(ipv6.HeaderLen)
	if err != nil {
		l.stats.TxErrors++
		return false
	}
	f := ipv6.Fields{PayloadLen: uint16(len(m)), NextHeader: inet.ProtoICMPv6, HopLimit: ndHopLimit, Src: src, Dst: dst}
	f.Encode(h)
	return true
}

// transmit sends the sealed packet in b to mac.
func (l *Layer) transmit(b *pkt.Buf, mac inet.MAC) bool {
	if err := l.eth.Write(mac, inet.EtherTypeIPv6, b); err != nil {
		l.stats.TxErrors++
		return false
	}
	return true
}

// solicit sends a Neighbor Solicitation for target with our link-layer
// address (RFC 4861 §7.2.2): multicast to its solicited-node group when
// mac is zero (resolution), else unicast to mac (a NUD probe, §7.3.3).
// Its source is src if that is one of our usable addresses (the address
// of the packet that prompted it), else another of ours.
func (l *Layer) solicit(target, src inet.Addr, mac inet.MAC) {
	src, ok := l.addrs.source(src)
	if !ok {
		l.stats.NoSource++
		return
	}
	dst := target
	if mac == (inet.MAC{}) {
		dst = inet.SolicitedNode(target)
		mac = inet.MulticastMAC(dst)
	}
	b := l.txNS
	m := l.begin(b, NSLen+8)
	f := NSFields{Target: target}
	f.Encode(m)
	o := LinkAddrFields{OptSourceLinkAddr, l.mac}
	o.Encode(m[NSLen:])
	if l.seal(b, src, dst) && l.transmit(b, mac) {
		l.stats.NSSent++
	}
}

// probeDAD sends the DAD solicitation for our tentative address target:
// from ::, to its solicited-node group, without a link-layer address
// (RFC 4862 §5.4.2), with nonce (RFC 7527 §4.2).
func (l *Layer) probeDAD(target inet.Addr, nonce [NonceLen]byte) {
	b := l.tx
	m := l.begin(b, NSLen+8)
	f := NSFields{Target: target}
	f.Encode(m)
	o := NonceFields{nonce}
	o.Encode(m[NSLen:])
	dst := inet.SolicitedNode(target)
	if l.seal(b, inet.IPv6Unspecified, dst) && l.transmit(b, inet.MulticastMAC(dst)) {
		l.stats.DADProbesSent++
	}
}

// advertise sends a Neighbor Advertisement for our address target with
// our link-layer address (RFC 4861 §7.2.4): to dst at mac, or resolved
// if mac is zero; to all-nodes, unsolicited, when dst is multicast.
func (l *Layer) advertise(target, dst inet.Addr, mac inet.MAC, solicited bool) {
	b := l.tx
	m := l.begin(b, NALen+8)
	f := NAFields{Solicited: solicited, Override: true, Target: target}
	f.Encode(m)
	o := LinkAddrFields{OptTargetLinkAddr, l.mac}
	o.Encode(m[NALen:])
	if !l.seal(b, target, dst) {
		return
	}
	switch {
	case dst.IsMulticast():
		if !l.transmit(b, inet.MulticastMAC(dst)) {
			return
		}
	case mac != (inet.MAC{}):
		if !l.transmit(b, mac) {
			return
		}
	default:
		if l.sendTo(dst, b) != nil {
			return
		}
	}
	l.stats.NASent++
}

// solicitRouters sends a Router Solicitation to all-routers (RFC 4861
// §6.3.7): from our link-local address with our link-layer address once
// it is usable, else from :: without it (§4.1).
func (l *Layer) solicitRouters() {
	src, ok := l.addrs.linkLocal()
	b := l.tx
	n := RSLen
	if ok {
		n += 8
	}
	m := l.begin(b, n)
	f := RSFields{}
	f.Encode(m)
	if ok {
		o := LinkAddrFields{OptSourceLinkAddr, l.mac}
		o.Encode(m[RSLen:])
	}
	dst := inet.IPv6AllRouters
	if l.seal(b, src, dst) && l.transmit(b, inet.MulticastMAC(dst)) {
		l.stats.RSSent++
	}
}
