package tcp

import (
	"encoding/binary"
	"errors"
)

// TCP header flags (RFC 9293 §3.1).
const (
	FlagFIN = 1 << 0
	FlagSYN = 1 << 1
	FlagRST = 1 << 2
	FlagPSH = 1 << 3
	FlagACK = 1 << 4
	FlagURG = 1 << 5
	FlagECE = 1 << 6
	FlagCWR = 1 << 7
)

// HeaderLen is the length of a TCP header without options.
const HeaderLen = 20

// MaxHeaderLen is the longest TCP header (data offset 15).
const MaxHeaderLen = 60

var (
	errShort     = errors.New("tcp: segment too short")
	errBadOffset = errors.New("tcp: bad data offset")
)

// Header is a view of a TCP segment. ParseHeader checks its length, after
// which no accessor can panic.
type Header []byte

// ParseHeader checks that b holds a TCP header whose data offset fits.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return nil, errShort
	}
	off := int(b[12]>>4) * 4
	if off < HeaderLen || off > len(b) {
		return nil, errBadOffset
	}
	return Header(b), nil
}

// SrcPort is the source port.
func (h Header) SrcPort() uint16 { return binary.BigEndian.Uint16(h[0:]) }

// DstPort is the destination port.
func (h Header) DstPort() uint16 { return binary.BigEndian.Uint16(h[2:]) }

// Seq is the sequence number.
func (h Header) Seq() uint32 { return binary.BigEndian.Uint32(h[4:]) }

// Ack is the acknowledgment number.
func (h Header) Ack() uint32 { return binary.BigEndian.Uint32(h[8:]) }

// DataOffset is the header length in bytes.
func (h Header) DataOffset() int { return int(h[12]>>4) * 4 }

// Flags are the control bits.
func (h Header) Flags() uint8 { return h[13] }

// Window is the raw (unscaled) window field.
func (h Header) Window() uint16 { return binary.BigEndian.Uint16(h[14:]) }

// Checksum is the checksum field.
func (h Header) Checksum() uint16 { return binary.BigEndian.Uint16(h[16:]) }

// Urgent is the urgent pointer; mirago never uses it as an offset.
func (h Header) Urgent() uint16 { return binary.BigEndian.Uint16(h[18:]) }

// Options returns the option bytes.
func (h Header) Options() []byte { return h[HeaderLen:h.DataOffset()] }

// Payload returns the data after the header.
func (h Header) Payload() []byte { return h[h.DataOffset():] }

// Fields are the fixed header fields, for encoding.
type Fields struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
	Window           uint16
	Urgent           uint16
}

// Encode writes the 20-byte fixed header plus options into b, which must be
// at least HeaderLen+len(opts) long (len(opts) a multiple of 4). The
// checksum field is zero.
func (f *Fields) Encode(b []byte, opts []byte) int {
	n := HeaderLen + len(opts)
	_ = b[n-1]
	binary.BigEndian.PutUint16(b[0:], f.SrcPort)
	binary.BigEndian.PutUint16(b[2:], f.DstPort)
	binary.BigEndian.PutUint32(b[4:], f.Seq)
	binary.BigEndian.PutUint32(b[8:], f.Ack)
	b[12] = byte(n/4) << 4
	b[13] = f.Flags
	binary.BigEndian.PutUint16(b[14:], f.Window)
	b[16], b[17] = 0, 0
	binary.BigEndian.PutUint16(b[18:], f.Urgent)
	copy(b[HeaderLen:], opts)
	return n
}
