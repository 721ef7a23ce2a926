package ipv4

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

// route returns the next hop for dst: dst itself when it is on-link, a
// broadcast or multicast, else the default gateway.
func (l *Layer) route(dst inet.Addr4) (inet.Addr4, error) {
	if dst.IsBroadcast() || dst.IsMulticast() || l.addr.Contains(dst) {
		return dst, nil
	}
	if l.gw.IsUnspecified() {
		return inet.Addr4{}, ErrNoRoute
	}
	return l.gw, nil
}

// Write sends b (transport header and payload, possibly with attachments)
// to dst, prepending the IPv4 header into b's headroom. An unspecified src
// means Source(dst). Datagrams larger than the MTU are fragmented (RFC 791
// §3.2) unless o.DontFragment is set, which gives ErrMessageTooLong; a TSO
// segment (pkt.Buf.SetGSO) goes whole to a device that cuts it. Write
// does not keep b. It implements transport.Network; addresses that are not
// IPv4 give transport.ErrAddrFamily.
func (l *Layer) Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	if !dst.Is4() || !src.Is4() && !src.IsUnspecified() {
		l.stats.DropNoRoute++
		return transport.ErrAddrFamily
	}
	return l.write(src.As4(), dst.As4(), proto, b, o)
}

func (l *Layer) write(src, dst inet.Addr4, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	next, err := l.route(dst)
	if err != nil {
		l.stats.DropNoRoute++
		return err
	}
	if src.IsUnspecified() {
		if src, err = l.source4(dst); err != nil {
			l.stats.DropNoRoute++
			return err
		}
	}
	f := Fields{
		TOS: o.TOS, ID: l.id, DF: o.DontFragment,
		TTL: o.TTL, Protocol: proto, Src: src, Dst: dst,
	}
	if f.TTL == 0 {
		f.TTL = l.cfg.TTL
	}
	l.id++
	n, mtu := b.Len(), l.mtu4()
	if b.GSO() != pkt.GSONone {
		// A TSO segment (netif.Offloads.TSO4Max): the device cuts it into
		// segments of the MSS, each with the next IP ID, as Linux's
		// segmentation does; it is never fragmented.
		if b.GSO() != pkt.GSOTCPv4 || n+HeaderLen > min(l.link.Offloads().TSO4Max, MaxTotalLen) {
			l.stats.DropTooBig++
			return ErrMessageTooLong
		}
		l.id += uint16(tsoSegments(b.Offload(), n) - 1)
		mtu = MaxTotalLen
	}
	if n+HeaderLen > MaxTotalLen || (n+HeaderLen > mtu && o.DontFragment) {
		l.stats.DropTooBig++
		return ErrMessageTooLong
	}
	if n+HeaderLen > mtu {
		return l.fragment(next, b, f, mtu)
	}
	f.TotalLen = uint16(n + HeaderLen)
	hdr, err := b.Prepend(HeaderLen)
	if err != nil {
		return err
	}
	f.Encode(hdr)
	return l.output(next, b)
}

// tsoSegments is how many segments the device cuts a TSO segment of n
// bytes (transport header included) into.
func tsoSegments(o pkt.Offload, n int) int {
	if o.GSOSize <= 0 || n <= o.HdrLen {
		return 1
	}
	return (n - o.HdrLen + o.GSOSize - 1) / o.GSOSize
}

func (l *Layer) output(next inet.Addr4, b *pkt.Buf) error {
	if err := l.link.Output(next, b); err != nil {
		l.stats.DropLinkError++
		return err
	}
	l.stats.Sent++
	return nil
}

// fragment sends b's payload in fragments of at most mtu bytes, each data
// part a multiple of 8 bytes except the last (RFC 791 §3.2, "An Example
// Fragmentation Procedure"). We send no options, so none are copied. Each
// fragment is copied into a pooled buffer; this is not the fast path.
func (l *Layer) fragment(next inet.Addr4, b *pkt.Buf, f Fields, mtu int) error {
	per := (mtu - HeaderLen) &^ 7
	if per < 8 {
		l.stats.DropTooBig++
		return ErrMessageTooLong
	}
	hr := l.Headroom()
	if l.fragPool == nil || l.fragPool.Size() != hr+per {
		l.fragPool = pkt.NewPool(hr + per)
	}
	if !b.FinishChecksum() { // fragments cannot leave it to the device
		l.stats.DropTooBig++
		return ErrMessageTooLong
	}
	total := b.Len()
	l.stats.FragmentedSent++
	for off := 0; off < total; off += per {
		n := min(per, total-off)
		fb := l.fragPool.Get(hr)
		b.CopyAt(fb.Append(n), off)
		f.FragOffset = off
		f.MF = off+n < total
		f.TotalLen = uint16(HeaderLen + n)
		hdr, err := fb.Prepend(HeaderLen)
		if err == nil {
			f.Encode(hdr)
			err = l.output(next, fb)
		}
		l.fragPool.Put(fb)
		if err != nil {
			return err
		}
		l.stats.FragmentsSent++
	}
	return nil
}
