package ipv6

import (
	"encoding/binary"
	"errors"

	"github.com/mirago/mirago/stack/inet"
)

// Extension headers (RFC 8200 §4): the Hop-by-Hop and Destination Options
// headers share one format (OptionsHeader), then the Routing header
// (RoutingHeader) and the Fragment header (FragmentHeader). Each has the
// codec shape of every wire format in the stack: a checked view, Fields,
// Len and Encode.

// Option types (RFC 8200 §4.2, IANA "Destination Options and Hop-by-Hop
// Options").
const (
	OptPad1        = 0x00
	OptPadN        = 0x01
	OptRouterAlert = 0x05 // RFC 2711; MLD messages carry it (RFC 3810 §5)
	OptJumbo       = 0xc2 // RFC 2675; not supported
)

// Router Alert values (RFC 2711 §2.1).
const RouterAlertMLD = 0

// FragmentHeaderLen is the Fragment header's length.
const FragmentHeaderLen = 8

// Parse errors of the extension headers.
var (
	ErrExtShort  = errors.New("ipv6: extension header past the data")
	ErrBadOption = errors.New("ipv6: malformed option")
	ErrExtLen    = errors.New("ipv6: extension header length not a multiple of 8")
)

// OptionsHeader is a view of a Hop-by-Hop or Destination Options header
// (RFC 8200 §4.3, §4.6): next header, length in 8-octet units not
// counting the first 8, then options.
type OptionsHeader []byte

// ParseOptionsHeader checks that b holds a whole options header and
// returns it trimmed to its length.
func ParseOptionsHeader(b []byte) (OptionsHeader, error) {
	n, err := extLen(b)
	if err != nil {
		return nil, err
	}
	return OptionsHeader(b[:n]), nil
}

// extLen is the length of the extension header at the start of b, in
// the format every header but the Fragment header shares: (Hdr Ext Len +
// 1) * 8 bytes.
func extLen(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, ErrExtShort
	}
	n := (int(b[1]) + 1) * 8
	if n > len(b) {
		return 0, ErrExtShort
	}
	return n, nil
}

// NextHeader is the type of the header that follows.
func (h OptionsHeader) NextHeader() uint8 { return h[0] }

// Options are the option TLVs (padding included).
func (h OptionsHeader) Options() []byte { return h[2:] }

// OptionsFields are the values of an options header. Options are the
// TLVs; Encode pads them to a multiple of 8 bytes.
type OptionsFields struct {
	NextHeader uint8
	Options    []byte
}

// Fields returns h's values (Options is a view into h, padding included).
func (h OptionsHeader) Fields() OptionsFields {
	return OptionsFields{NextHeader: h.NextHeader(), Options: h.Options()}
}

// Len is the header length Encode writes: 2 + len(Options) rounded up to
// a multiple of 8.
func (f *OptionsFields) Len() int { return (2 + len(f.Options) + 7) &^ 7 }

// Encode writes the header into b[:f.Len()], padding the options with a
// Pad1 or PadN option (RFC 8200 §4.2), and returns f.Len(). It returns
// inet.ErrBufTooSmall if b is shorter, ErrExtLen if the header would be
// longer than 2048 bytes.
func (f *OptionsFields) Encode(b []byte) (int, error) {
	n := f.Len()
	if n > 2048 {
		return 0, ErrExtLen
	}
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	b[0], b[1] = f.NextHeader, byte(n/8-1)
	copy(b[2:], f.Options)
	pad(b[2+len(f.Options) : n])
	return n, nil
}

// pad fills b with one Pad1 or PadN option.
func pad(b []byte) {
	switch len(b) {
	case 0:
	case 1:
		b[0] = OptPad1
	default:
		b[0], b[1] = OptPadN, byte(len(b)-2)
		clear(b[2:])
	}
}

// OptionIter walks the TLVs of an options header without allocating.
// Each step is bounds-checked; iteration stops at the end or on error.
type OptionIter struct {
	b   []byte
	off int // offset of b[0] in the options area
	err error
}

// Iter returns an iterator over opts, typically OptionsHeader.Options().
func Iter(opts []byte) OptionIter { return OptionIter{b: opts} }

// Next returns the next option's type, data (after the type and length
// octets) and offset in the options area. Pad1 is returned with nil
// data. ok is false at the end or on a malformed option (then Err is
// non-nil).
func (it *OptionIter) Next() (typ uint8, data []byte, off int, ok bool) {
	if len(it.b) == 0 {
		return 0, nil, 0, false
	}
	off, typ = it.off, it.b[0]
	if typ == OptPad1 {
		it.b, it.off = it.b[1:], it.off+1
		return typ, nil, off, true
	}
	if len(it.b) < 2 || 2+int(it.b[1]) > len(it.b) {
		it.err, it.b = ErrBadOption, nil
		return 0, nil, 0, false
	}
	n := 2 + int(it.b[1])
	data, it.b, it.off = it.b[2:n], it.b[n:], it.off+n
	return typ, data, off, true
}

// Err is the error that stopped iteration, or nil.
func (it *OptionIter) Err() error { return it.err }

// RoutingHeader is a view of a Routing header (RFC 8200 §4.4): next
// header, length, routing type, segments left, type-specific data.
type RoutingHeader []byte

// ParseRoutingHeader checks that b holds a whole routing header and
// returns it trimmed to its length.
func ParseRoutingHeader(b []byte) (RoutingHeader, error) {
	n, err := extLen(b)
	if err != nil {
		return nil, err
	}
	return RoutingHeader(b[:n]), nil
}

// NextHeader is the type of the header that follows.
func (h RoutingHeader) NextHeader() uint8 { return h[0] }

// RoutingType is the routing variant (0: the deprecated RH0, RFC 5095).
func (h RoutingHeader) RoutingType() uint8 { return h[2] }

// SegmentsLeft is the number of route segments still to visit.
func (h RoutingHeader) SegmentsLeft() uint8 { return h[3] }

// Data is the type-specific data after the first 4 bytes.
func (h RoutingHeader) Data() []byte { return h[4:] }

// RoutingFields are the values of a routing header.
type RoutingFields struct {
	NextHeader, RoutingType, SegmentsLeft uint8
	Data                                  []byte // 4 + len(Data) must be a multiple of 8
}

// Fields returns h's values (Data is a view into h).
func (h RoutingHeader) Fields() RoutingFields {
	return RoutingFields{NextHeader: h.NextHeader(), RoutingType: h.RoutingType(), SegmentsLeft: h.SegmentsLeft(), Data: h.Data()}
}

// Len is the header length Encode writes: 4 + len(Data).
func (f *RoutingFields) Len() int { return 4 + len(f.Data) }

// Encode writes the header into b[:f.Len()] and returns f.Len(). It
// returns ErrExtLen when the length is not a multiple of 8 in 8..2048,
// inet.ErrBufTooSmall if b is shorter.
func (f *RoutingFields) Encode(b []byte) (int, error) {
	n := f.Len()
	if n%8 != 0 || n > 2048 {
		return 0, ErrExtLen
	}
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	b[0], b[1], b[2], b[3] = f.NextHeader, byte(n/8-1), f.RoutingType, f.SegmentsLeft
	copy(b[4:n], f.Data)
	return n, nil
}

// FragmentHeader is a view of a Fragment header (RFC 8200 §4.5): next
// header, reserved, offset in 8-octet units with the M flag, and the
// 32-bit identification.
type FragmentHeader []byte

// ParseFragmentHeader checks that b holds the 8-byte header and returns
// it trimmed to that.
func ParseFragmentHeader(b []byte) (FragmentHeader, error) {
	if len(b) < FragmentHeaderLen {
		return nil, ErrExtShort
	}
	return FragmentHeader(b[:FragmentHeaderLen]), nil
}

// NextHeader is the type of the first header of the fragmentable part.
func (h FragmentHeader) NextHeader() uint8 { return h[0] }

// Offset is the fragment's offset in bytes in the fragmentable part.
func (h FragmentHeader) Offset() int { return int(binary.BigEndian.Uint16(h[2:]) &^ 7) }

// More reports the M flag: more fragments follow.
func (h FragmentHeader) More() bool { return h[3]&1 != 0 }

// ID is the identification.
func (h FragmentHeader) ID() uint32 { return binary.BigEndian.Uint32(h[4:]) }

// IsAtomic reports an atomic fragment: offset 0 and no more fragments
// (RFC 6946), a whole packet that carries a Fragment header.
func (h FragmentHeader) IsAtomic() bool { return binary.BigEndian.Uint16(h[2:])&^6 == 0 }

// FragmentFields are the values of a fragment header.
type FragmentFields struct {
	NextHeader uint8
	Offset     int // in bytes; a multiple of 8 below 65536
	More       bool
	ID         uint32
}

// Fields returns h's values.
func (h FragmentHeader) Fields() FragmentFields {
	return FragmentFields{NextHeader: h.NextHeader(), Offset: h.Offset(), More: h.More(), ID: h.ID()}
}

// Len is the header length Encode writes: FragmentHeaderLen.
func (f *FragmentFields) Len() int { return FragmentHeaderLen }

// Encode writes the header into b[:8] and returns 8, or
// inet.ErrBufTooSmall if b is shorter. The reserved fields are zero.
func (f *FragmentFields) Encode(b []byte) (int, error) {
	if len(b) < FragmentHeaderLen {
		return 0, inet.ErrBufTooSmall
	}
	v := uint16(f.Offset) &^ 7
	if f.More {
		v |= 1
	}
	b[0], b[1] = f.NextHeader, 0
	binary.BigEndian.PutUint16(b[2:], v)
	binary.BigEndian.PutUint32(b[4:], f.ID)
	return FragmentHeaderLen, nil
}
