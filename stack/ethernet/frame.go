// Package ethernet is the stack's Ethernet II layer (IEEE 802.3 clause 3,
// DIX framing): a Frame view over received bytes, a header encoder, and a
// Layer that dispatches frames by EtherType and prepends the header on
// output.
//
// Not supported: 802.1Q/802.1ad VLAN tags (tagged frames are counted and
// dropped), 802.3 length-field (LLC/SNAP) frames (counted as unknown
// EtherType), and the FCS (drivers strip it).
package ethernet

import (
	"encoding/binary"
	"errors"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// HeaderLen is the length of an untagged Ethernet II header.
const HeaderLen = netif.EthernetHeaderLen

// MinPayload is the smallest Ethernet payload; shorter frames are padded
// on the wire (IEEE 802.3 §3.2.7).
const MinPayload = 46

// ErrRunt is returned by ParseFrame for a frame shorter than HeaderLen.
var ErrRunt = errors.New("ethernet: frame shorter than header")

// Frame is a view over a received Ethernet II frame, destination MAC first,
// without FCS. Once ParseFrame accepted it, no accessor panics.
type Frame []byte

// ParseFrame checks that b holds at least a full header and returns it as a
// Frame aliasing b.
func ParseFrame(b []byte) (Frame, error) {
	if len(b) < HeaderLen {
		return nil, ErrRunt
	}
	return Frame(b), nil
}

// Dst is the destination MAC.
func (f Frame) Dst() inet.MAC { return inet.MAC(f[0:6]) }

// Src is the source MAC.
func (f Frame) Src() inet.MAC { return inet.MAC(f[6:12]) }

// Type is the EtherType (or the 802.3 length, when below 0x0600).
func (f Frame) Type() uint16 { return binary.BigEndian.Uint16(f[12:14]) }

// IsTagged reports whether the frame carries an 802.1Q or 802.1ad tag.
func (f Frame) IsTagged() bool {
	t := f.Type()
	return t == inet.EtherTypeVLAN || t == inet.EtherTypeQinQ
}

// Payload is everything after the header, padding included.
func (f Frame) Payload() []byte { return f[HeaderLen:] }

// Fields are the values of an untagged Ethernet II header.
type Fields struct {
	Dst, Src inet.MAC
	Type     uint16 // EtherType (inet.EtherType*)
}

// Fields returns f's header values.
func (f Frame) Fields() Fields { return Fields{Dst: f.Dst(), Src: f.Src(), Type: f.Type()} }

// Len is the header length Encode writes: HeaderLen.
func (h *Fields) Len() int { return HeaderLen }

// Encode writes the header into b[:HeaderLen] and returns HeaderLen, or
// inet.ErrBufTooSmall (writing nothing) if b is shorter.
func (h *Fields) Encode(b []byte) (int, error) {
	if len(b) < HeaderLen {
		return 0, inet.ErrBufTooSmall
	}
	copy(b[0:6], h.Dst[:])
	copy(b[6:12], h.Src[:])
	binary.BigEndian.PutUint16(b[12:14], h.Type)
	return HeaderLen, nil
}
