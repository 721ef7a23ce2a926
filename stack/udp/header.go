// Package udp implements UDP (RFC 768) over the ipv4 layer: a datagram
// socket API (net.PacketConn, and net.Conn when connected), checksums, and
// ICMP port unreachable for closed ports (RFC 1122 §4.1.3.1).
package udp

import (
	"encoding/binary"
	"errors"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
)

// HeaderLen is the length of the UDP header.
const HeaderLen = 8

// Errors from ParseHeader.
var (
	ErrShort     = errors.New("udp: datagram shorter than its header")
	ErrBadLength = errors.New("udp: length field disagrees with the datagram")
)

// Header is a view of a UDP datagram (header and payload).
type Header []byte

// ParseHeader checks the length field against the bytes received (RFC 768:
// length covers header and data, at least 8) and returns a view trimmed to
// that length.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return nil, ErrShort
	}
	n := int(binary.BigEndian.Uint16(b[4:6]))
	if n < HeaderLen || n > len(b) {
		return nil, ErrBadLength
	}
	return Header(b[:n]), nil
}

// SrcPort is the source port.
func (h Header) SrcPort() uint16 { return binary.BigEndian.Uint16(h[0:2]) }

// DstPort is the destination port.
func (h Header) DstPort() uint16 { return binary.BigEndian.Uint16(h[2:4]) }

// Length is the length field.
func (h Header) Length() uint16 { return binary.BigEndian.Uint16(h[4:6]) }

// Checksum is the checksum field; 0 means the sender computed none.
func (h Header) Checksum() uint16 { return binary.BigEndian.Uint16(h[6:8]) }

// Payload is the data after the header.
func (h Header) Payload() []byte { return h[HeaderLen:] }

// ValidChecksum verifies the checksum over the pseudo-header and datagram.
// A zero checksum field means none was sent and is accepted (RFC 768).
func (h Header) ValidChecksum(src, dst inet.Addr) bool {
	if h.Checksum() == 0 {
		return true
	}
	s := checksum.Pseudo(src, dst, inet.ProtoUDP, len(h))
	return checksum.Fold(checksum.Sum(h, s)) == 0xffff
}

// Fields are the values of a UDP header.
type Fields struct {
	SrcPort, DstPort uint16
	Length           uint16 // header and payload
}

// Fields returns h's values.
func (h Header) Fields() Fields {
	return Fields{SrcPort: h.SrcPort(), DstPort: h.DstPort(), Length: h.Length()}
}

// Len is the length Encode writes: HeaderLen.
func (f *Fields) Len() int { return HeaderLen }

// Encode writes the header into b[:HeaderLen] with the checksum field zero
// (SetChecksum fills it once the payload follows it) and returns
// HeaderLen, or inet.ErrBufTooSmall if b is shorter.
func (f *Fields) Encode(b []byte) (int, error) {
	if len(b) < HeaderLen {
		return 0, inet.ErrBufTooSmall
	}
	binary.BigEndian.PutUint16(b[0:2], f.SrcPort)
	binary.BigEndian.PutUint16(b[2:4], f.DstPort)
	binary.BigEndian.PutUint16(b[4:6], f.Length)
	b[6], b[7] = 0, 0
	return HeaderLen, nil
}

// SetChecksum computes and stores the checksum of datagram d (header with a
// zero checksum field, then payload). A computed 0 is sent as 0xffff
// (RFC 768).
func SetChecksum(d []byte, src, dst inet.Addr) {
	s := checksum.Pseudo(src, dst, inet.ProtoUDP, len(d))
	c := checksum.Checksum(d, s)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(d[6:8], c)
}
