package mld

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// ICMPv6 types of MLD (RFC 2710 §3, RFC 3810 §5).
const (
	TypeQuery    uint8 = 130 // MLDv1 and MLDv2 Multicast Listener Query
	TypeReportV1 uint8 = 131 // MLDv1 Multicast Listener Report
	TypeDoneV1   uint8 = 132 // MLDv1 Multicast Listener Done
	TypeReportV2 uint8 = 143 // MLDv2 Multicast Listener Report
)

// Multicast address record types (RFC 3810 §5.2.12).
const (
	ModeIsInclude   uint8 = 1 // current state: INCLUDE
	ModeIsExclude   uint8 = 2 // current state: EXCLUDE (a listener for all sources)
	ChangeToInclude uint8 = 3 // filter mode change: leaving (INCLUDE {})
	ChangeToExclude uint8 = 4 // filter mode change: joining (EXCLUDE {})
	AllowNewSources uint8 = 5
	BlockOldSources uint8 = 6
)

// Lengths (RFC 3810 §5.1, §5.2; RFC 2710 §3).
const (
	QueryV1Len  = 24 // an MLDv1 query is exactly this long (RFC 3810 §8.1)
	QueryV2Len  = 28 // an MLDv2 query without sources
	V1Len       = 24 // MLDv1 report and done
	ReportLen   = 8  // an MLDv2 report's fixed part
	RecordLen   = 20 // a record's fixed part
	maxSources  = 0xffff
	maxRecords  = 0xffff
	queryV2Srcs = 28
)

// Parse errors.
var (
	ErrShort  = errors.New("mld: message too short for its counts")
	ErrType   = errors.New("mld: wrong ICMPv6 type")
	ErrLength = errors.New("mld: query of 25 to 27 bytes (RFC 3810 §8.1)")
	ErrCount  = errors.New("mld: too many records or sources to encode")
)

// Query is a view of a Multicast Listener Query, ICMPv6 header first:
// MLDv1 (24 bytes) or MLDv2 (28 bytes and the sources). Once ParseQuery
// accepted it, no accessor panics.
type Query []byte

// ParseQuery checks b as an MLDv1 or MLDv2 query. The code is ignored
// (RFC 3810 §5.1.2). Bytes past the sources are kept but not read.
func ParseQuery(b []byte) (Query, error) {
	switch {
	case len(b) < 1:
		return nil, ErrShort
	case b[0] != TypeQuery:
		return nil, ErrType
	case len(b) < QueryV1Len:
		return nil, ErrShort
	case len(b) == QueryV1Len:
		return Query(b), nil
	case len(b) < QueryV2Len:
		return nil, ErrLength
	}
	if n := int(binary.BigEndian.Uint16(b[26:])); len(b) < QueryV2Len+16*n {
		return nil, ErrShort
	}
	return Query(b), nil
}

// IsV2 reports whether q is an MLDv2 query.
func (q Query) IsV2() bool { return len(q) >= QueryV2Len }

// MaxRespCode is the Maximum Response Code (MLDv1: the delay in ms).
func (q Query) MaxRespCode() uint16 { return binary.BigEndian.Uint16(q[4:]) }

// MaxRespDelay decodes the Maximum Response Code (RFC 3810 §5.1.3; for
// MLDv1 it is milliseconds as it stands, RFC 2710 §3.4).
func (q Query) MaxRespDelay() time.Duration {
	c := q.MaxRespCode()
	if !q.IsV2() || c < 0x8000 {
		return time.Duration(c) * time.Millisecond
	}
	mant, exp := uint32(c&0xfff), uint32(c>>12&7)
	return time.Duration((mant|0x1000)<<(exp+3)) * time.Millisecond
}

// Group is the multicast address queried; :: for a general query.
func (q Query) Group() inet.Addr { return inet.AddrFrom16([16]byte(q[8:24])) }

// SuppressRouter is the S flag (MLDv2).
func (q Query) SuppressRouter() bool { return q.IsV2() && q[24]&8 != 0 }

// QRV is the querier's robustness variable (MLDv2; 0 for MLDv1).
func (q Query) QRV() uint8 {
	if !q.IsV2() {
		return 0
	}
	return q[24] & 7
}

// QQIC is the querier's query interval code (MLDv2; 0 for MLDv1).
func (q Query) QQIC() uint8 {
	if !q.IsV2() {
		return 0
	}
	return q[25]
}

// QueryInterval decodes QQIC (RFC 3810 §5.1.9).
func (q Query) QueryInterval() time.Duration {
	c := uint32(q.QQIC())
	if c >= 128 {
		c = (c&0xf | 0x10) << (c>>4&7 + 3)
	}
	return time.Duration(c) * time.Second
}

// NumSources is the number of sources (MLDv2; 0 for MLDv1).
func (q Query) NumSources() int {
	if !q.IsV2() {
		return 0
	}
	return int(binary.BigEndian.Uint16(q[26:]))
}

// Source returns the i-th source, 0 <= i < NumSources().
func (q Query) Source(i int) inet.Addr {
	return inet.AddrFrom16([16]byte(q[queryV2Srcs+16*i : queryV2Srcs+16*i+16]))
}

// QueryFields are the values of a query. V1 encodes the 24-byte MLDv1
// form (S, QRV, QQIC and Sources are then not written).
type QueryFields struct {
	V1             bool
	MaxRespCode    uint16
	Group          inet.Addr
	SuppressRouter bool
	QRV, QQIC      uint8
	Sources        []inet.Addr
}

// Fields returns q's values (Sources is a new slice, nil if none).
func (q Query) Fields() QueryFields {
	f := QueryFields{V1: !q.IsV2(), MaxRespCode: q.MaxRespCode(), Group: q.Group(),
		SuppressRouter: q.SuppressRouter(), QRV: q.QRV(), QQIC: q.QQIC()}
	for i := range q.NumSources() {
		f.Sources = append(f.Sources, q.Source(i))
	}
	return f
}

// Len is the length Encode writes.
func (f *QueryFields) Len() int {
	if f.V1 {
		return QueryV1Len
	}
	return QueryV2Len + 16*len(f.Sources)
}

// Encode writes the query with a zero checksum into b[:f.Len()].
func (f *QueryFields) Encode(b []byte) (int, error) {
	n := f.Len()
	if len(f.Sources) > maxSources {
		return 0, ErrCount
	}
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	b[0], b[1], b[2], b[3] = TypeQuery, 0, 0, 0
	binary.BigEndian.PutUint16(b[4:], f.MaxRespCode)
	b[6], b[7] = 0, 0
	g := f.Group.As16()
	copy(b[8:24], g[:])
	if f.V1 {
		return n, nil
	}
	b[24] = f.QRV & 7
	if f.SuppressRouter {
		b[24] |= 8
	}
	b[25] = f.QQIC
	binary.BigEndian.PutUint16(b[26:], uint16(len(f.Sources)))
	for i, s := range f.Sources {
		a := s.As16()
		copy(b[queryV2Srcs+16*i:], a[:])
	}
	return n, nil
}

// V1 is a view of an MLDv1 Report or Done (RFC 2710 §3).
type V1 []byte

// ParseV1 checks b as an MLDv1 report or done.
func ParseV1(b []byte) (V1, error) {
	switch {
	case len(b) < 1:
		return nil, ErrShort
	case b[0] != TypeReportV1 && b[0] != TypeDoneV1:
		return nil, ErrType
	case len(b) < V1Len:
		return nil, ErrShort
	}
	return V1(b), nil
}

// Type is TypeReportV1 or TypeDoneV1.
func (m V1) Type() uint8 { return m[0] }

// Group is the multicast address reported or left.
func (m V1) Group() inet.Addr { return inet.AddrFrom16([16]byte(m[8:24])) }

// V1Fields are the values of an MLDv1 report or done.
type V1Fields struct {
	Type  uint8
	Group inet.Addr
}

// Fields returns m's values.
func (m V1) Fields() V1Fields { return V1Fields{m.Type(), m.Group()} }

// Len is the length Encode writes: V1Len.
func (f *V1Fields) Len() int { return V1Len }

// Encode writes the message with a zero checksum into b[:V1Len].
func (f *V1Fields) Encode(b []byte) (int, error) {
	if len(b) < V1Len {
		return 0, inet.ErrBufTooSmall
	}
	clear(b[:8])
	b[0] = f.Type
	g := f.Group.As16()
	copy(b[8:24], g[:])
	return V1Len, nil
}

// hopByHop is the Hop-by-Hop Options header every MLD message we send
// carries: next header ICMPv6, a Router Alert option with value 0, MLD
// (RFC 2711 §2.1, RFC 3810 §5), and a PadN of two bytes.
var hopByHop = [8]byte{inet.ProtoICMPv6, 0, 5, 2, 0, 0, 1, 0}
