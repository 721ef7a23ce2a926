package proxyproto

import (
	"errors"
	"fmt"
	"net/netip"
)

// Command is what a header says about the connection (v2's command; v1
// headers are always Proxy).
type Command uint8

const (
	// Local: the connection was made by the proxy itself (a health
	// check): the receiver uses the connection's own addresses.
	Local Command = 0
	// Proxy: the connection is relayed for the client in Source.
	Proxy Command = 1
)

// Transport is the protocol of the relayed connection.
type Transport uint8

const (
	// Unknown: v1's UNKNOWN, v2's AF_UNSPEC or AF_UNIX: no addresses.
	Unknown Transport = iota
	// TCP: a stream over IPv4 or IPv6.
	TCP
	// UDP: a datagram flow over IPv4 or IPv6 (v2 only).
	UDP
)

// TLV is one v2 extension: type and value (proxy-protocol.txt §2.2).
type TLV struct {
	Type  uint8
	Value []byte
}

// TLV types of proxy-protocol.txt §2.2.
const (
	TypeALPN      = 0x01
	TypeAuthority = 0x02
	TypeCRC32C    = 0x03
	TypeNOOP      = 0x04
	TypeUniqueID  = 0x05
	TypeSSL       = 0x20
	TypeNetNS     = 0x30
)

// Header is a parsed PROXY header.
type Header struct {
	// Version is 1 or 2.
	Version int
	// Command is Local or Proxy.
	Command Command
	// Transport is TCP, UDP or Unknown.
	Transport Transport
	// Source is the client's address, Dest the address it connected
	// to; both invalid for Local and Unknown.
	Source, Dest netip.AddrPort
	// TLVs are the v2 extensions, in order; the values are copies.
	TLVs []TLV
}

// Relayed reports whether h carries a client address that the receiver
// should use instead of the connection's own.
func (h *Header) Relayed() bool {
	return h.Command == Proxy && h.Transport != Unknown && h.Source.IsValid()
}

// ErrIncomplete means the bytes given are a valid beginning of a header:
// read more and parse again.
var ErrIncomplete = errors.New("proxyproto: incomplete header")

// ErrNotProxy is matched by the *Error returned when the input does not
// even begin like a header of either version.
var ErrNotProxy = errors.New("proxyproto: not a PROXY protocol header")

// Error is a malformed header.
type Error struct {
	// Version is 1 or 2, 0 when the input matched neither signature.
	Version int
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Version == 0 {
		return "proxyproto: " + e.Reason
	}
	return fmt.Sprintf("proxyproto: bad v%d header: %s", e.Version, e.Reason)
}

// Is makes an Error for input of neither version match ErrNotProxy.
func (e *Error) Is(target error) bool { return target == ErrNotProxy && e.Version == 0 }

func v1Err(reason string) error { return &Error{Version: 1, Reason: reason} }
func v2Err(reason string) error { return &Error{Version: 2, Reason: reason} }

// MaxV1 is the longest v1 header, CRLF included (proxy-protocol.txt §2.1).
const MaxV1 = 107

// DefaultMaxV2 is the bound on a whole v2 header (16 fixed bytes, the
// address block and the TLVs) used when Parse is given max <= 0.
const DefaultMaxV2 = 16 + 1024

// Parse parses the header at the start of b, which must hold no more than
// max bytes of v2 header (0: DefaultMaxV2; v1 is always bounded by
// MaxV1). It returns the header and its length. If b is a valid
// beginning of a header but not a whole one, it returns ErrIncomplete;
// any other error is an *Error, and reading more cannot fix it.
func Parse(b []byte, max int) (Header, int, error) {
	if max <= 0 {
		max = DefaultMaxV2
	}
	switch {
	case len(b) == 0:
		return Header{}, 0, ErrIncomplete
	case b[0] == 'P':
		return parseV1(b)
	case b[0] == sigV2[0]:
		return parseV2(b, max)
	}
	return Header{}, 0, &Error{Reason: "neither the v1 nor the v2 signature"}
}
