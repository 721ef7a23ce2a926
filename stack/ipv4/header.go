package ipv4

import (
	"encoding/binary"
	"errors"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
)

// Header sizes and field values (RFC 791 §3.1).
const (
	HeaderLen    = 20    // minimum header length (IHL 5)
	MaxHeaderLen = 60    // IHL 15
	MaxTotalLen  = 65535 // largest datagram
	MinMTU       = 68    // every host must accept this MTU (RFC 791 §3.2)
	MinSetMTU    = 576   // smallest MTU SetMTU accepts: the datagram every host must accept (RFC 791 §3.1, RFC 1122 §3.3.3)
	DefaultTTL   = 64    // RFC 1700 / RFC 1122 §3.2.1.7

	flagDF = 0x4000
	flagMF = 0x2000
	offMsk = 0x1fff
)

// Parse errors. Each maps to one drop counter in Stats.
var (
	ErrShort    = errors.New("ipv4: packet shorter than header")
	ErrVersion  = errors.New("ipv4: version is not 4")
	ErrIHL      = errors.New("ipv4: bad header length")
	ErrLength   = errors.New("ipv4: bad total length")
	ErrChecksum = errors.New("ipv4: bad header checksum")
)

// Header is a view of an IPv4 datagram: header, options and payload. A
// Header returned by ParseHeader is trimmed to the datagram's total length;
// one from ParseQuoted may be truncated. After either constructor succeeds
// no accessor can panic.
type Header []byte

// ParseHeader checks b as a received datagram (RFC 791 §3.1, RFC 1122
// §3.2.1.1-2): version 4, 5 <= IHL, IHL*4 <= total length <= len(b). Bytes
// after the total length (Ethernet padding) are trimmed off. The header
// checksum is not verified here; see ValidChecksum.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return nil, ErrShort
	}
	if b[0]>>4 != 4 {
		return nil, ErrVersion
	}
	hl := int(b[0]&0xf) * 4
	if hl < HeaderLen || hl > len(b) {
		return nil, ErrIHL
	}
	tl := int(binary.BigEndian.Uint16(b[2:]))
	if tl < hl || tl > len(b) {
		return nil, ErrLength
	}
	return Header(b[:tl]), nil
}

// ParseQuoted checks b as the (possibly truncated) datagram quoted in an
// ICMP error (RFC 792): version 4 and a complete header of IHL*4 bytes. The
// total length may exceed len(b); bytes beyond it are trimmed.
func ParseQuoted(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return nil, ErrShort
	}
	if b[0]>>4 != 4 {
		return nil, ErrVersion
	}
	hl := int(b[0]&0xf) * 4
	if hl < HeaderLen || hl > len(b) {
		return nil, ErrIHL
	}
	tl := int(binary.BigEndian.Uint16(b[2:]))
	if tl < hl {
		return nil, ErrLength
	}
	if tl < len(b) {
		b = b[:tl]
	}
	return Header(b), nil
}

// HeaderLen is IHL*4, the header length including options.
func (h Header) HeaderLen() int { return int(h[0]&0xf) * 4 }

// TOS is the type-of-service octet (DSCP and ECN, RFC 2474, RFC 3168).
func (h Header) TOS() uint8 { return h[1] }

// TotalLen is the total length field.
func (h Header) TotalLen() uint16 { return binary.BigEndian.Uint16(h[2:]) }

// ID is the identification field.
func (h Header) ID() uint16 { return binary.BigEndian.Uint16(h[4:]) }

// Flags is the 3-bit flags field (bit 1 DF, bit 0 MF).
func (h Header) Flags() uint8 { return h[6] >> 5 }

// DF reports the don't-fragment flag.
func (h Header) DF() bool { return h[6]&0x40 != 0 }

// MF reports the more-fragments flag.
func (h Header) MF() bool { return h[6]&0x20 != 0 }

// FragOffset is the fragment offset in bytes (the field times 8).
func (h Header) FragOffset() int { return int(binary.BigEndian.Uint16(h[6:])&offMsk) * 8 }

// IsFragment reports whether h is a fragment (MF set or offset non-zero).
func (h Header) IsFragment() bool { return binary.BigEndian.Uint16(h[6:])&(flagMF|offMsk) != 0 }

// TTL is the time-to-live field.
func (h Header) TTL() uint8 { return h[8] }

// Protocol is the payload's protocol number.
func (h Header) Protocol() uint8 { return h[9] }

// Checksum is the header checksum field.
func (h Header) Checksum() uint16 { return binary.BigEndian.Uint16(h[10:]) }

// Src is the source address.
func (h Header) Src() inet.Addr4 { return inet.Addr4(h[12:16]) }

// Dst is the destination address.
func (h Header) Dst() inet.Addr4 { return inet.Addr4(h[16:20]) }

// Options returns the option bytes (empty when IHL is 5).
func (h Header) Options() []byte { return h[HeaderLen:h.HeaderLen()] }

// Payload returns the bytes after the header (for a quoted header, as many
// as were quoted).
func (h Header) Payload() []byte { return h[h.HeaderLen():] }

// ValidChecksum reports whether the header checksum is correct (RFC 791
// §3.1, RFC 1071).
func (h Header) ValidChecksum() bool {
	return checksum.Fold(checksum.Sum(h[:h.HeaderLen()], 0)) == 0xffff
}

// Fields are the values Encode writes.
type Fields struct {
	TOS        uint8
	TotalLen   uint16 // header + payload
	ID         uint16
	DF, MF     bool
	FragOffset int // in bytes; must be a multiple of 8
	TTL        uint8
	Protocol   uint8
	Src, Dst   inet.Addr4
	Options    []byte // length must be a multiple of 4, at most 40
}

// Fields returns h's header values (Options is a view into h).
func (h Header) Fields() Fields {
	return Fields{TOS: h.TOS(), TotalLen: h.TotalLen(), ID: h.ID(), DF: h.DF(), MF: h.MF(),
		FragOffset: h.FragOffset(), TTL: h.TTL(), Protocol: h.Protocol(), Src: h.Src(), Dst: h.Dst(),
		Options: h.Options()}
}

// Len is the header length Encode writes for f.
func (f *Fields) Len() int { return HeaderLen + len(f.Options) }

// Encode writes the header described by f into b[:f.Len()], checksum
// included, and returns f.Len(). It returns inet.ErrBufTooSmall if b is
// shorter, or ErrIHL if the options are not a multiple of 4 bytes or
// longer than 40.
func (f *Fields) Encode(b []byte) (int, error) {
	n := f.Len()
	if len(f.Options)%4 != 0 || n > MaxHeaderLen {
		return 0, ErrIHL
	}
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	b[0] = 0x40 | byte(n/4)
	b[1] = f.TOS
	binary.BigEndian.PutUint16(b[2:], f.TotalLen)
	binary.BigEndian.PutUint16(b[4:], f.ID)
	fo := uint16(f.FragOffset/8) & offMsk
	if f.DF {
		fo |= flagDF
	}
	if f.MF {
		fo |= flagMF
	}
	binary.BigEndian.PutUint16(b[6:], fo)
	b[8] = f.TTL
	b[9] = f.Protocol
	b[10], b[11] = 0, 0
	copy(b[12:16], f.Src[:])
	copy(b[16:20], f.Dst[:])
	copy(b[HeaderLen:n], f.Options)
	binary.BigEndian.PutUint16(b[10:], checksum.Checksum(b[:n], 0))
	return n, nil
}
