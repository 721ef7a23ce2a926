// Package netif defines Device, the interface between the stack and every
// network driver: the Linux TAP, the in-memory link, virtio-net and the
// i.MX ENET.
//
// The contract suits both an interrupt-driven bare-metal driver and a host
// read loop:
//
//   - Receive is push: the driver calls the installed Handler once per frame,
//     from its own receive context (a TAP read goroutine, the goroutine that
//     services the device interrupt, the in-memory link's delivery
//     goroutine). Frames of one device are delivered one at a time and in
//     order. The frame is lent for the duration of the call only, so the
//     driver can hand over its own receive buffer without a copy and reuse
//     it afterwards.
//   - Transmit is synchronous: when it returns, the driver no longer refers to
//     the Buf or its attached payload. The caller builds the frame in place,
//     leaving Headroom bytes free in front for the driver's own header.
//     ErrBusy reports a full transmit queue (backpressure): the frame was
//     not taken, and the caller may keep it and send it again when the
//     device has room (TxRoomNotifier tells when) or drop it.
package netif

import (
	"errors"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/pkt"
)

// Errors returned by Transmit.
var (
	ErrBusy     = errors.New("netif: transmit ring full")
	ErrLinkDown = errors.New("netif: link down")
	ErrClosed   = errors.New("netif: device closed")
	ErrTooBig   = errors.New("netif: frame larger than MTU")
)

// Handler receives one Ethernet frame (destination MAC first, no FCS) and
// what the device says about it. The frame is valid only until Handler
// returns. A nil frame carries nothing: it ends a batch after a frame
// marked RxMeta.More.
type Handler func(frame []byte, meta RxMeta)

// Device is a network interface moving Ethernet frames.
type Device interface {
	// MAC is the device's hardware address.
	MAC() inet.MAC
	// MTU is the largest Ethernet payload the device carries (1500 on
	// Ethernet), not counting the 14-byte Ethernet header.
	MTU() int
	// Headroom is how many bytes the driver needs in front of the Ethernet
	// header of every transmitted frame.
	Headroom() int
	// LinkUp reports whether the link is up.
	LinkUp() bool
	// Offloads says which checksum and segmentation offloads the device
	// does (offload.go). It does not change while the device is open.
	Offloads() Offloads
	// Transmit sends b as one frame, or as the segments its offload
	// metadata asks for (pkt.Buf.Offload; only offloads that Offloads
	// advertises). See the package comment for ownership.
	Transmit(b *pkt.Buf) error
	// SetHandler installs the receive handler. Frames that arrive while no
	// handler is installed are dropped and counted in RxDropped.
	SetHandler(h Handler)
	// Stats returns a snapshot of the device counters.
	Stats() Stats
	// Close stops the device. Transmit then returns ErrClosed.
	Close() error
}

// TxRoomNotifier is implemented by a device whose Transmit returns
// ErrBusy when its transmit queue is full (a virtio-net ring, a TAP's
// ring, memlink with Backpressure): it says when the queue has room again,
// so that the sender can keep what the device refused and send it then,
// as Linux's qdisc does after netif_stop_queue/netif_wake_queue, rather
// than take it as lost.
//
// After a Transmit returned ErrBusy, the device calls the installed
// function once its queue has drained to a threshold (half of it, say),
// from its own context: never from inside Transmit, and with none of the
// caller's locks held, as it calls Handler (the stack takes its lock in
// it). One call may answer several refusals, and a call without a
// refusal before it is harmless. A nil function uninstalls it.
// SetTxRoom reports whether the device will call f: a wrapper (a fault
// injector, a pcap writer) passes f on and answers for the device it
// wraps.
type TxRoomNotifier interface {
	SetTxRoom(f func()) bool
}

// EthernetHeaderLen is the length of an untagged Ethernet II header.
const EthernetHeaderLen = 14

// MulticastFilter is implemented by devices that filter multicast frames
// themselves (a MAC's group hash, like the i.MX ENET's GAUR/GALR). The
// Ethernet layer calls SetMulticast with every group it accepts whenever
// that set changes, so that the frames Neighbor Discovery and MLD need
// (33:33:ff:xx:xx:xx, 33:33:00:00:00:01) reach it; the device may pass
// more (a hash filter does), the Ethernet layer drops what it did not
// join. Devices without it must pass all multicast frames up: a TAP, the
// in-memory link and virtio-net without VIRTIO_NET_F_CTRL_RX do.
// SetMulticast is called with the stack lock held; groups is lent for the
// call.
type MulticastFilter interface {
	SetMulticast(groups []inet.MAC) error
}
