package icmpv6

import (
	"encoding/binary"
	"errors"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
)

// Message types (RFC 4443 §2.1, RFC 4861 §4, RFC 3810 §5).
const (
	TypeDestUnreachable = 1
	TypePacketTooBig    = 2
	TypeTimeExceeded    = 3
	TypeParamProblem    = 4
	TypeEchoRequest     = 128
	TypeEchoReply       = 129
	TypeMLDQuery        = 130 // RFC 2710, RFC 3810
	TypeMLDReport       = 131 // MLDv1 report
	TypeMLDDone         = 132 // MLDv1 done
	TypeRouterSolicit   = 133 // RFC 4861
	TypeRouterAdvert    = 134
	TypeNeighborSolicit = 135
	TypeNeighborAdvert  = 136
	TypeRedirect        = 137
	TypeMLDv2Report     = 143 // RFC 3810 §5.2
)

// Destination unreachable codes (RFC 4443 §3.1, RFC 6550 §20.17).
const (
	CodeNoRoute          = 0
	CodeProhibited       = 1
	CodeBeyondScope      = 2
	CodeAddrUnreachable  = 3
	CodePortUnreachable  = 4
	CodeSourcePolicy     = 5
	CodeRejectRoute      = 6
	CodeSourceRoutingHdr = 7
)

// Time exceeded codes (RFC 4443 §3.3).
const (
	CodeHopLimit     = 0
	CodeReasmTimeout = 1
)

// Parameter problem codes (RFC 4443 §3.4, RFC 7112 §5).
const (
	CodeHeaderField     = 0
	CodeUnknownNext     = 1
	CodeUnknownOption   = 2
	CodeIncompleteChain = 3
)

// HeaderLen is the header every message we handle starts with: type,
// code, checksum, and 4 type-specific bytes.
const HeaderLen = 8

// MaxQuote is the most of an offending packet an error quotes: as much as
// fits in the minimum IPv6 MTU (RFC 4443 §2.4 (c): 1280 - 40 - 8).
const MaxQuote = 1232

// Parse errors.
var (
	ErrShort = errors.New("icmpv6: message shorter than 8 bytes")
	ErrType  = errors.New("icmpv6: type not for a handler")
)

// Message is a view of an ICMPv6 message. After ParseMessage succeeds no
// accessor can panic.
type Message []byte

// ParseMessage checks that b holds at least the 8-byte header. The
// checksum is checked separately (ValidChecksum).
func ParseMessage(b []byte) (Message, error) {
	if len(b) < HeaderLen {
		return nil, ErrShort
	}
	return Message(b), nil
}

// Type is the message type.
func (m Message) Type() uint8 { return m[0] }

// Code is the message code.
func (m Message) Code() uint8 { return m[1] }

// Checksum is the checksum field.
func (m Message) Checksum() uint16 { return binary.BigEndian.Uint16(m[2:]) }

// ValidChecksum reports whether the checksum over the pseudo-header of
// src and dst and the whole message is correct (RFC 4443 §2.3).
func (m Message) ValidChecksum(src, dst inet.Addr) bool {
	s := checksum.Pseudo(src, dst, inet.ProtoICMPv6, len(m))
	return checksum.Fold(checksum.Sum(m, s)) == 0xffff
}

// Rest is the 4 bytes after the checksum as an integer: the MTU of a
// Packet Too Big, the pointer of a Parameter Problem.
func (m Message) Rest() uint32 { return binary.BigEndian.Uint32(m[4:]) }

// ID is the echo identifier.
func (m Message) ID() uint16 { return binary.BigEndian.Uint16(m[4:]) }

// Seq is the echo sequence number.
func (m Message) Seq() uint16 { return binary.BigEndian.Uint16(m[6:]) }

// Body is everything after the 8-byte header: echo data, the quoted
// packet of an error, the rest of an ND or MLD message.
func (m Message) Body() []byte { return m[HeaderLen:] }

// IsError reports whether t is an error type (RFC 4443 §2.1: the high bit
// clear), about which no error is ever sent (RFC 4443 §2.4 (e.1)).
func IsError(t uint8) bool { return t < 128 }

// Fields are the values of an ICMPv6 message: the 8-byte header (type,
// code, and bytes 4-7 as Rest) and the body after it.
type Fields struct {
	Type, Code uint8
	Rest       uint32
	Body       []byte
}

// Fields returns m's values (Body is a view into m).
func (m Message) Fields() Fields {
	return Fields{Type: m.Type(), Code: m.Code(), Rest: m.Rest(), Body: m.Body()}
}

// Len is the length Encode writes: the header and the body.
func (f *Fields) Len() int { return HeaderLen + len(f.Body) }

// Encode writes the message into b[:f.Len()] with a zero checksum (it
// covers the IPv6 pseudo-header: SetChecksum fills it) and returns
// f.Len(), or inet.ErrBufTooSmall if b is shorter.
func (f *Fields) Encode(b []byte) (int, error) {
	n := f.Len()
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	b[0], b[1], b[2], b[3] = f.Type, f.Code, 0, 0
	binary.BigEndian.PutUint32(b[4:], f.Rest)
	copy(b[HeaderLen:n], f.Body)
	return n, nil
}

// SetChecksum stores the checksum of message m (its header, and any body
// in m, with the checksum field zero or not) sent from src to dst,
// followed by extra more bytes carried elsewhere whose running sum is
// extraSum (checksum.Sum of them; 0 and 0 if none).
func SetChecksum(m []byte, src, dst inet.Addr, extra int, extraSum uint32) {
	m[2], m[3] = 0, 0
	s := checksum.Pseudo(src, dst, inet.ProtoICMPv6, len(m)+extra)
	binary.BigEndian.PutUint16(m[2:], checksum.Checksum(m, checksum.Combine(s, extraSum)))
}

// Echo packs an echo identifier and sequence number into Rest.
func Echo(id, seq uint16) uint32 { return uint32(id)<<16 | uint32(seq) }
