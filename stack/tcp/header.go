package tcp

import (
	"encoding/binary"
	"errors"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
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

// Parse errors (and ErrBadOffset from Fields.Encode for bad options).
var (
	ErrShort     = errors.New("tcp: segment too short")
	ErrBadOffset = errors.New("tcp: bad data offset")
)

// Header is a view of a TCP segment. ParseHeader checks its length, after
// which no accessor can panic.
type Header []byte

// ParseHeader checks that b holds a TCP header whose data offset fits.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return nil, ErrShort
	}
	off := int(b[12]>>4) * 4
	if off < HeaderLen || off > len(b) {
		return nil, ErrBadOffset
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

// ValidChecksum verifies the checksum of segment h (header and payload)
// over the pseudo-header of src and dst (RFC 9293 §3.1).
func (h Header) ValidChecksum(src, dst inet.Addr) bool {
	return checksum.Fold(checksum.Sum(h, checksum.Pseudo(src, dst, inet.ProtoTCP, len(h)))) == 0xffff
}

// Fields are the values of a TCP header: the fixed fields and the encoded
// options (see ParseOptions for reading them).
type Fields struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
	Window           uint16
	Urgent           uint16
	Options          []byte // a multiple of 4 bytes, at most 40
}

// Fields returns h's values (Options is a view into h).
func (h Header) Fields() Fields {
	return Fields{SrcPort: h.SrcPort(), DstPort: h.DstPort(), Seq: h.Seq(), Ack: h.Ack(),
		Flags: h.Flags(), Window: h.Window(), Urgent: h.Urgent(), Options: h.Options()}
}

// Len is the header length Encode writes: HeaderLen plus the options.
func (f *Fields) Len() int { return HeaderLen + len(f.Options) }

// Encode writes the header, options included, into b[:f.Len()] with the
// checksum field zero (the sender sums the payload into it) and returns
// f.Len(). It returns inet.ErrBufTooSmall if b is shorter, or
// ErrBadOffset if the options are not a multiple of 4 bytes or longer
// than 40.
func (f *Fields) Encode(b []byte) (int, error) {
	n := f.Len()
	if len(f.Options)%4 != 0 || n > MaxHeaderLen {
		return 0, ErrBadOffset
	}
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	binary.BigEndian.PutUint16(b[0:], f.SrcPort)
	binary.BigEndian.PutUint16(b[2:], f.DstPort)
	binary.BigEndian.PutUint32(b[4:], f.Seq)
	binary.BigEndian.PutUint32(b[8:], f.Ack)
	b[12] = byte(n/4) << 4
	b[13] = f.Flags
	binary.BigEndian.PutUint16(b[14:], f.Window)
	b[16], b[17] = 0, 0
	binary.BigEndian.PutUint16(b[18:], f.Urgent)
	copy(b[HeaderLen:n], f.Options)
	return n, nil
}
