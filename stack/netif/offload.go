package netif

// Offloads are the parts of the stack's work a device can do, as the
// virtio-net header carries them between a guest and its host (virtio 1.1
// §5.1.6; the same header a Linux TAP takes with IFF_VNET_HDR). The stack
// asks for an offload only when the device advertises it, so a device
// that advertises nothing gets plain frames with every checksum done.
//
// Transmit: with TxChecksum the stack leaves a TCP checksum partial
// (pkt.Buf.SetPartialChecksum); with TSO4Max it hands down TCP/IPv4
// segments larger than the MTU, up to TSO4Max bytes of IP datagram, for
// the device to cut into MTU-sized ones (pkt.Buf.SetGSO). Receive: with
// RxChecksum a frame may come with RxMeta.CsumVerified, and the stack
// skips its own check of the transport checksum; with LargeReceive the
// device may hand up frames larger than the MTU, merged from several TCP
// segments by the host or the device (GRO, VIRTIO_NET_F_GUEST_TSO4), and
// the stack takes them as one segment.
type Offloads struct {
	// TxChecksum: the device completes a checksum a Buf leaves partial
	// (VIRTIO_NET_F_CSUM, TUN_F_CSUM).
	TxChecksum bool
	// TSO4Max is the largest IPv4 datagram (total length) the device
	// segments (VIRTIO_NET_F_HOST_TSO4, TUN_F_TSO4); 0 means no TSO.
	// It implies TxChecksum.
	TSO4Max int
	// TSO6Max is the same for IPv6 (the 40-byte header included).
	TSO6Max int
	// RxChecksum: received frames may carry RxMeta.CsumVerified
	// (VIRTIO_NET_F_GUEST_CSUM; a TAP with TUN_F_CSUM).
	RxChecksum bool
	// LargeReceive is the largest frame, Ethernet header included, the
	// device may hand up; 0 means MTU + EthernetHeaderLen.
	LargeReceive int
}

// RxMeta is what a device says about one received frame.
type RxMeta struct {
	// CsumVerified: the frame's transport checksum (TCP, UDP) need not be
	// checked. Either the device verified it (VIRTIO_NET_HDR_F_DATA_VALID)
	// or the frame comes from the host with the checksum still partial
	// (VIRTIO_NET_HDR_F_NEEDS_CSUM): it never crossed a wire, and its
	// checksum field holds only the pseudo-header sum. The IP header
	// checksum is checked all the same.
	CsumVerified bool
	// SegSize, for a frame merged from several TCP segments (LargeReceive),
	// is the payload size of those segments (gso_size); 0 otherwise.
	SegSize uint16
	// More: the driver hands up the next frame right after this one (it
	// already holds it: the rest of a virtio-net used ring, a TAP frame
	// read ahead). The stack may then defer work to the last frame of
	// the batch, such as the ACK owed for several segments. A driver that
	// sets it must call the handler again: with the next frame, or, when
	// that turns out unusable (dropped), with a nil frame, which only
	// ends the batch.
	More bool
}
