package ipv6

import (
	"encoding/binary"
	"errors"

	"github.com/mirago/mirago/stack/inet"
)

// Header sizes and field values (RFC 8200 §3).
const (
	HeaderLen       = 40    // the fixed header
	MaxPayloadLen   = 65535 // the Payload Length field's largest value (no jumbograms)
	MinMTU          = 1280  // every link carries this (RFC 8200 §5)
	DefaultHopLimit = 64    // as Linux; RFC 4861 §6.3.2 lets a router's RA change it
)

// Parse errors. Each maps to one drop counter in Stats.
var (
	ErrShort   = errors.New("ipv6: packet shorter than the header")
	ErrVersion = errors.New("ipv6: version is not 6")
	ErrLength  = errors.New("ipv6: payload length past the data")
)

// Header is a view of an IPv6 packet: the fixed header and the payload
// after it (extension headers included). A Header returned by ParseHeader
// is trimmed to 40 + Payload Length bytes; one from ParseQuoted may be
// truncated. After either constructor succeeds no accessor can panic.
type Header []byte

// ParseHeader checks b as a received packet (RFC 8200 §3): version 6 and a
// payload length that fits in b. Bytes after it (Ethernet padding) are
// trimmed off. A payload length of 0 is taken as an empty payload: we do
// not support jumbograms (RFC 2675), whose Jumbo Payload option is then
// refused as an unrecognised option.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return nil, ErrShort
	}
	if b[0]>>4 != 6 {
		return nil, ErrVersion
	}
	n := HeaderLen + int(binary.BigEndian.Uint16(b[4:]))
	if n > len(b) {
		return nil, ErrLength
	}
	return Header(b[:n]), nil
}

// ParseQuoted checks b as the (possibly truncated) packet quoted in an
// ICMPv6 error (RFC 4443 §3): version 6 and the whole fixed header. Bytes
// beyond 40 + Payload Length are trimmed.
func ParseQuoted(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return nil, ErrShort
	}
	if b[0]>>4 != 6 {
		return nil, ErrVersion
	}
	if n := HeaderLen + int(binary.BigEndian.Uint16(b[4:])); n < len(b) {
		b = b[:n]
	}
	return Header(b), nil
}

// TrafficClass is the traffic class octet (DSCP and ECN, RFC 2474, RFC
// 3168).
func (h Header) TrafficClass() uint8 { return h[0]<<4 | h[1]>>4 }

// FlowLabel is the 20-bit flow label (RFC 6437).
func (h Header) FlowLabel() uint32 { return binary.BigEndian.Uint32(h[0:]) & 0xfffff }

// PayloadLen is the Payload Length field: the bytes after the fixed
// header, extension headers included.
func (h Header) PayloadLen() uint16 { return binary.BigEndian.Uint16(h[4:]) }

// NextHeader is the type of the header after the fixed one.
func (h Header) NextHeader() uint8 { return h[6] }

// HopLimit is the hop limit field.
func (h Header) HopLimit() uint8 { return h[7] }

// Src is the source address. An IPv4-mapped source (which the input path
// refuses) reads back as an IPv4 inet.Addr.
func (h Header) Src() inet.Addr { return inet.AddrFrom16([16]byte(h[8:24])) }

// Dst is the destination address.
func (h Header) Dst() inet.Addr { return inet.AddrFrom16([16]byte(h[24:40])) }

// Payload returns the bytes after the fixed header (for a quoted packet,
// as many as were quoted).
func (h Header) Payload() []byte { return h[HeaderLen:] }

// Fields are the values Encode writes.
type Fields struct {
	TrafficClass uint8
	FlowLabel    uint32 // 20 bits; higher bits are ignored
	PayloadLen   uint16
	NextHeader   uint8
	HopLimit     uint8
	Src, Dst     inet.Addr
}

// Fields returns h's header values.
func (h Header) Fields() Fields {
	return Fields{TrafficClass: h.TrafficClass(), FlowLabel: h.FlowLabel(), PayloadLen: h.PayloadLen(),
		NextHeader: h.NextHeader(), HopLimit: h.HopLimit(), Src: h.Src(), Dst: h.Dst()}
}

// Len is the header length Encode writes: HeaderLen.
func (f *Fields) Len() int { return HeaderLen }

// Encode writes the fixed header described by f into b[:HeaderLen] and
// returns HeaderLen, or inet.ErrBufTooSmall if b is shorter.
func (f *Fields) Encode(b []byte) (int, error) {
	if len(b) < HeaderLen {
		return 0, inet.ErrBufTooSmall
	}
	binary.BigEndian.PutUint32(b[0:], 6<<28|uint32(f.TrafficClass)<<20|f.FlowLabel&0xfffff)
	binary.BigEndian.PutUint16(b[4:], f.PayloadLen)
	b[6], b[7] = f.NextHeader, f.HopLimit
	s, d := f.Src.As16(), f.Dst.As16()
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
	return HeaderLen, nil
}
