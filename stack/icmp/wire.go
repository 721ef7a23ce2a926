package icmp

import (
	"encoding/binary"
	"errors"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
)

// Message types (RFC 792).
const (
	TypeEchoReply       = 0
	TypeDestUnreachable = 3
	TypeSourceQuench    = 4 // deprecated, RFC 6633
	TypeRedirect        = 5
	TypeEchoRequest     = 8
	TypeTimeExceeded    = 11
	TypeParamProblem    = 12
)

// Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1).
const (
	CodeNetUnreachable   = 0
	CodeHostUnreachable  = 1
	CodeProtoUnreachable = 2
	CodePortUnreachable  = 3
	CodeFragNeeded       = 4
)

// Time exceeded codes (RFC 792).
const (
	CodeTTLExceeded   = 0
	CodeReasmExceeded = 1
)

// HeaderLen is the fixed ICMP header: type, code, checksum, 4 more bytes.
const HeaderLen = 8

// Parse errors.
var (
	ErrShort    = errors.New("icmp: message shorter than 8 bytes")
	ErrChecksum = errors.New("icmp: bad checksum")
)

// Message is a view of an ICMP message. After ParseMessage succeeds no
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

// ValidChecksum reports whether the checksum over the whole message is
// correct (RFC 792).
func (m Message) ValidChecksum() bool { return checksum.Fold(checksum.Sum(m, 0)) == 0xffff }

// Rest is the 4 bytes after the checksum as an integer.
func (m Message) Rest() uint32 { return binary.BigEndian.Uint32(m[4:]) }

// ID is the echo identifier.
func (m Message) ID() uint16 { return binary.BigEndian.Uint16(m[4:]) }

// Seq is the echo sequence number.
func (m Message) Seq() uint16 { return binary.BigEndian.Uint16(m[6:]) }

// MTU is the next-hop MTU of a fragmentation-needed message (RFC 1191 §4).
func (m Message) MTU() uint16 { return binary.BigEndian.Uint16(m[6:]) }

// Pointer is the parameter-problem pointer (RFC 792).
func (m Message) Pointer() uint8 { return m[4] }

// Body is everything after the 8-byte header: echo data, or the quoted
// datagram of an error.
func (m Message) Body() []byte { return m[HeaderLen:] }

// IsError reports whether t is an error type, about which no error is
// ever sent (RFC 1122 §3.2.2).
func IsError(t uint8) bool {
	switch t {
	case TypeDestUnreachable, TypeSourceQuench, TypeRedirect, TypeTimeExceeded, TypeParamProblem:
		return true
	}
	return false
}

// Fields are the values of an ICMP message: the 8-byte header (type,
// code, and the type-specific bytes 4-7 as Rest) and the body after it.
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

// Encode writes the message into b[:f.Len()], checksum included, and
// returns f.Len(), or inet.ErrBufTooSmall if b is shorter. For a body sent
// by reference instead (pkt.Buf.Attach), encode the header alone (Body
// nil) and then SetChecksum with the body's sum.
func (f *Fields) Encode(b []byte) (int, error) {
	n := f.Len()
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	b[0], b[1], b[2], b[3] = f.Type, f.Code, 0, 0
	binary.BigEndian.PutUint32(b[4:], f.Rest)
	copy(b[HeaderLen:n], f.Body)
	SetChecksum(b[:n], 0)
	return n, nil
}

// SetChecksum stores the checksum of message m (header, and any body in
// m) plus the running sum of a body carried elsewhere (checksum.Sum of it;
// 0 if none).
func SetChecksum(m []byte, body uint32) {
	m[2], m[3] = 0, 0
	binary.BigEndian.PutUint16(m[2:], checksum.Checksum(m, body))
}

// Echo packs an echo identifier and sequence number into rest.
func Echo(id, seq uint16) uint32 { return uint32(id)<<16 | uint32(seq) }
