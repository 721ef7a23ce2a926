package pkt

// Offload metadata: the work a Buf leaves to the device, as the fields of a
// virtio_net_hdr (virtio 1.1 §5.1.6.2), which both devices that take it
// (virtio-net and a Linux TAP with IFF_VNET_HDR) read. The stack sets it
// only when the device advertised the offload (netif.Offloads).
//
// Offsets are kept as positions in the backing array, so they stay right
// while lower layers prepend their headers; Offload reports them from the
// first byte of the packet as it is then. Nothing here is specific to an
// address family: IPv6 uses GSOTCPv6 and its own pseudo-header sum.

import "github.com/mirago/mirago/stack/checksum"

// GSOType is the segmentation a device is asked to do (virtio_net_hdr
// gso_type; Linux's SKB_GSO_TCPV4/TCPV6).
type GSOType uint8

const (
	// GSONone sends the packet as one frame.
	GSONone GSOType = iota
	// GSOTCPv4 cuts a TCP/IPv4 segment into segments of GSOSize payload
	// bytes (TSO: VIRTIO_NET_HDR_GSO_TCPV4).
	GSOTCPv4
	// GSOTCPv6 is the same over IPv6 (VIRTIO_NET_HDR_GSO_TCPV6).
	GSOTCPv6
)

// Offload is what a Buf asks of the device, with offsets counted from the
// first byte of the packet (Bytes()[0]) at the time Offload is called.
type Offload struct {
	// NeedsCsum says a checksum is left to the device: it sums the bytes
	// from CsumStart to the end of the packet and stores the complement
	// at CsumStart+CsumOffset, where the sender left the uncomplemented
	// pseudo-header sum (VIRTIO_NET_HDR_F_NEEDS_CSUM; Linux's
	// CHECKSUM_PARTIAL).
	NeedsCsum             bool
	CsumStart, CsumOffset int
	// GSO is the segmentation asked for; with GSONone the other GSO
	// fields are zero.
	GSO GSOType
	// GSOSize is the payload of each segment the device cuts (the MSS).
	GSOSize int
	// HdrLen is the length of the headers in front of the payload
	// (Ethernet, IP and TCP as the driver sees them), which every
	// segment repeats.
	HdrLen int
}

// offload is the Buf's part: positions in data, valid while set.
type offload struct {
	csumAt  int // start of the checksummed bytes; valid with partial
	csumOff uint16
	partial bool
	gso     GSOType
	gsoSize uint16
	bodyAt  int // first payload byte, after every header; valid with gso
}

// SetPartialChecksum leaves a checksum to the device. Checksumming starts
// at the first byte of the packet as it is now (a transport layer calls
// this right after writing its header); the field is at offset from
// there and must already hold the uncomplemented sum of the pseudo-header.
func (b *Buf) SetPartialChecksum(offset int) {
	b.off.partial = true
	b.off.csumAt = b.head
	b.off.csumOff = uint16(offset)
}

// SetGSO asks the device to cut the packet into segments of segSize
// payload bytes. hdrLen is the length of the header at the front of the
// packet as it is now (the transport header): the payload follows it. The
// checksum must be left partial too (SetPartialChecksum), as virtio
// requires for GSO (virtio 1.1 §5.1.6.2.1).
func (b *Buf) SetGSO(t GSOType, segSize, hdrLen int) {
	b.off.gso = t
	b.off.gsoSize = uint16(segSize)
	b.off.bodyAt = b.head + hdrLen
}

// Offload returns the offloads asked for, with offsets from the first
// byte of the packet as it is now. A driver reads it before it prepends
// its own header.
func (b *Buf) Offload() Offload {
	var o Offload
	if b.off.partial {
		o.NeedsCsum = true
		o.CsumStart = b.off.csumAt - b.head
		o.CsumOffset = int(b.off.csumOff)
	}
	if b.off.gso != GSONone {
		o.GSO = b.off.gso
		o.GSOSize = int(b.off.gsoSize)
		o.HdrLen = b.off.bodyAt - b.head
	}
	return o
}

// SetOffload sets the offloads asked for from o, whose offsets count from
// the first byte of the packet as it is now: it copies a request from
// another Buf holding the same packet (o from its Offload).
func (b *Buf) SetOffload(o Offload) {
	b.off = offload{}
	if o.NeedsCsum {
		b.off.partial = true
		b.off.csumAt = b.head + o.CsumStart
		b.off.csumOff = uint16(o.CsumOffset)
	}
	if o.GSO != GSONone {
		b.off.gso = o.GSO
		b.off.gsoSize = uint16(o.GSOSize)
		b.off.bodyAt = b.head + o.HdrLen
	}
}

// GSO returns the segmentation asked for (GSONone for a plain packet).
func (b *Buf) GSO() GSOType { return b.off.gso }

// ClearGSO drops the segmentation request, leaving any partial checksum.
func (b *Buf) ClearGSO() { b.off.gso, b.off.gsoSize, b.off.bodyAt = GSONone, 0, 0 }

// FinishChecksum computes in software the checksum left to the device,
// if any, and clears the request: the fallback for a path that cannot
// leave it to hardware (a fault injector about to corrupt the frame, a
// capture). It reports false, changing nothing, if the checksum field is
// not within the contiguous part.
func (b *Buf) FinishChecksum() bool {
	if !b.off.partial {
		return true
	}
	start, at := b.off.csumAt, b.off.csumAt+int(b.off.csumOff)
	if start < b.head || at+2 > b.tail {
		return false
	}
	// The field holds the pseudo-header sum: summing over it adds it in.
	sum := checksum.Sum(b.data[start:b.tail], 0)
	off := b.tail - start
	for _, p := range b.ext[:b.next] {
		sum = checksum.SumAt(p, off, sum)
		off += len(p)
	}
	cs := ^checksum.Fold(sum)
	b.data[at], b.data[at+1] = byte(cs>>8), byte(cs)
	b.off.partial = false
	return true
}
