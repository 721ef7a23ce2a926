package ipv6

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

// Write sends b (upper-layer header and payload, possibly with
// attachments) from src to dst, prepending the IPv6 header into b's
// headroom. An unspecified src means Source(dst); any other must be one
// of our addresses that is not tentative (RFC 4862 §5.4), else
// ErrNoAddress. Packets larger than the path MTU are fragmented (RFC 8200
// §4.5) unless o.DontFragment is set, which gives ErrMessageTooLong; a
// TSO segment (pkt.Buf.SetGSO) goes whole to a device that cuts it. The
// hop limit is o.TTL, or the default (1 to a multicast group). Write does
// not keep b. It implements transport.Network; addresses that are not
// IPv6 give transport.ErrAddrFamily.
func (l *Layer) Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	if !dst.Is6() || !src.Is6() {
		l.stats.DropNoRoute++
		return transport.ErrAddrFamily
	}
	if src.IsUnspecified() {
		var err error
		if src, err = l.Source(dst); err != nil {
			l.stats.DropNoAddress++
			return err
		}
	} else if !l.usable(src) {
		l.stats.DropNoAddress++
		return ErrNoAddress
	}
	return l.write(src, dst, proto, b, o)
}

// WriteFromUnspecified is Write from the unspecified address ::, for the
// few messages sent before we have an address: Neighbor Solicitations for
// DAD (RFC 4862 §5.4.2), MLD reports (RFC 3810 §5.2.13), Router
// Solicitations (RFC 4861 §6.3.7).
func (l *Layer) WriteFromUnspecified(dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	if !dst.Is6() {
		l.stats.DropNoRoute++
		return transport.ErrAddrFamily
	}
	return l.write(inet.IPv6Unspecified, dst, proto, b, o)
}

func (l *Layer) write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	if dst.IsUnspecified() || dst.IsLoopback() {
		l.stats.DropNoRoute++
		return ErrAddr
	}
	f := Fields{TrafficClass: o.TOS, NextHeader: proto, HopLimit: o.TTL, Src: src, Dst: dst}
	if f.HopLimit == 0 {
		f.HopLimit = l.cfg.HopLimit
		if dst.IsMulticast() {
			f.HopLimit = 1
		}
	}
	n, mtu := b.Len(), l.MTU(dst)
	if b.GSO() != pkt.GSONone {
		// A TSO segment (netif.Offloads.TSO6Max): the device cuts it into
		// segments of the MSS; it is never fragmented.
		if b.GSO() != pkt.GSOTCPv6 || n+HeaderLen > l.link.Offloads().TSO6Max {
			l.stats.DropTooBig++
			return ErrMessageTooLong
		}
		mtu = HeaderLen + MaxPayloadLen
	}
	if n > MaxPayloadLen || n+HeaderLen > mtu && o.DontFragment {
		l.stats.DropTooBig++
		return ErrMessageTooLong
	}
	if n+HeaderLen > mtu {
		return l.fragmentOut(b, f, mtu)
	}
	f.PayloadLen = uint16(n)
	hdr, err := b.Prepend(HeaderLen)
	if err != nil {
		return err
	}
	f.Encode(hdr)
	return l.output(dst, b)
}

func (l *Layer) output(dst inet.Addr, b *pkt.Buf) error {
	if err := l.link.Output(dst, b); err != nil {
		l.stats.DropLinkError++
		return err
	}
	l.stats.Sent++
	return nil
}

// fragmentOut sends b's payload in fragments of at most mtu bytes, each
// data part a multiple of 8 bytes except the last (RFC 8200 §4.5). We
// send no extension headers, so the unfragmentable part is the IPv6
// header alone. The identification comes from fragIDGen (RFC 7739). Each
// fragment is copied into a pooled buffer; this is not the fast path.
func (l *Layer) fragmentOut(b *pkt.Buf, f Fields, mtu int) error {
	per := (mtu - HeaderLen - FragmentHeaderLen) &^ 7
	if per < 8 {
		l.stats.DropTooBig++ // a link below IPv6's minimum MTU
		return ErrMessageTooLong
	}
	hr := l.link.Headroom() + HeaderLen + FragmentHeaderLen
	if l.fragPool == nil || l.fragPool.Size() != hr+per {
		l.fragPool = pkt.NewPool(hr + per)
	}
	if !b.FinishChecksum() { // fragments cannot leave it to the device
		l.stats.DropTooBig++
		return ErrMessageTooLong
	}
	ff := FragmentFields{NextHeader: f.NextHeader, ID: l.fragID.next(f.Src, f.Dst)}
	f.NextHeader = inet.ProtoFragment
	total := b.Len()
	l.stats.FragmentedSent++
	for off := 0; off < total; off += per {
		n := min(per, total-off)
		fb := l.fragPool.Get(hr)
		b.CopyAt(fb.Append(n), off)
		ff.Offset, ff.More = off, off+n < total
		f.PayloadLen = uint16(FragmentHeaderLen + n)
		err := l.prependTwo(fb, &f, &ff)
		if err == nil {
			err = l.output(f.Dst, fb)
		}
		l.fragPool.Put(fb)
		if err != nil {
			return err
		}
		l.stats.FragmentsSent++
	}
	return nil
}

// prependTwo prepends the Fragment header ff, then the IPv6 header f.
func (l *Layer) prependTwo(b *pkt.Buf, f *Fields, ff *FragmentFields) error {
	fh, err := b.Prepend(FragmentHeaderLen)
	if err != nil {
		return err
	}
	ff.Encode(fh)
	hdr, err := b.Prepend(HeaderLen)
	if err != nil {
		return err
	}
	f.Encode(hdr)
	return nil
}
