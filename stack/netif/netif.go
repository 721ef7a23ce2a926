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
//     ErrBusy reports a full transmit ring (backpressure); the caller may
//     retry later or drop.
package netif

import (
	"errors"
	"net"
	"strconv"

	"github.com/mirago/mirago/stack/pkt"
)

// Errors returned by Transmit.
var (
	ErrBusy     = errors.New("netif: transmit ring full")
	ErrLinkDown = errors.New("netif: link down")
	ErrClosed   = errors.New("netif: device closed")
	ErrTooBig   = errors.New("netif: frame larger than MTU")
)

// Handler receives one Ethernet frame (destination MAC first, no FCS). The
// frame is valid only until Handler returns.
type Handler func(frame []byte)

// Device is a network interface moving Ethernet frames.
type Device interface {
	// MAC is the device's hardware address.
	MAC() MAC
	// MTU is the largest Ethernet payload the device carries (1500 on
	// Ethernet), not counting the 14-byte Ethernet header.
	MTU() int
	// Headroom is how many bytes the driver needs in front of the Ethernet
	// header of every transmitted frame.
	Headroom() int
	// LinkUp reports whether the link is up.
	LinkUp() bool
	// Transmit sends b as one frame. See the package comment for ownership.
	Transmit(b *pkt.Buf) error
	// SetHandler installs the receive handler. Frames that arrive while no
	// handler is installed are dropped and counted in RxDropped.
	SetHandler(h Handler)
	// Stats returns a snapshot of the device counters.
	Stats() Stats
	// Close stops the device. Transmit then returns ErrClosed.
	Close() error
}

// EthernetHeaderLen is the length of an untagged Ethernet II header.
const EthernetHeaderLen = 14

// MAC is an IEEE 802 MAC-48 address.
type MAC [6]byte

// Broadcast is ff:ff:ff:ff:ff:ff.
var Broadcast = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// IsMulticast reports whether the group bit is set (broadcast included).
func (m MAC) IsMulticast() bool { return m[0]&1 == 1 }

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m == Broadcast }

// IsZero reports whether m is 00:00:00:00:00:00.
func (m MAC) IsZero() bool { return m == MAC{} }

// String returns m as six colon-separated lower-case hex octets.
func (m MAC) String() string {
	const hex = "0123456789abcdef"
	var b [17]byte
	for i, o := range m {
		if i > 0 {
			b[3*i-1] = ':'
		}
		b[3*i], b[3*i+1] = hex[o>>4], hex[o&15]
	}
	return string(b[:])
}

// ParseMAC parses a MAC-48 address such as "52:54:00:12:34:56".
func ParseMAC(s string) (MAC, error) {
	hw, err := net.ParseMAC(s)
	if err != nil {
		return MAC{}, err
	}
	if len(hw) != 6 {
		return MAC{}, errors.New("netif: " + strconv.Quote(s) + " is not a 6-byte MAC address")
	}
	return MAC(hw), nil
}

// RandomMAC returns a random unicast, locally administered address
// (IEEE 802 §8.2.2: bit 1 of the first octet set, bit 0 clear) using read,
// typically crypto/rand.Read or the stack's injected randomness.
func RandomMAC(read func([]byte) (int, error)) (MAC, error) {
	var m MAC
	if _, err := read(m[:]); err != nil {
		return MAC{}, err
	}
	m[0] = m[0]&^1 | 2
	return m, nil
}
