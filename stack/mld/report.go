package mld

import (
	"encoding/binary"

	"github.com/mirago/mirago/stack/inet"
)

// Report is a view of an MLDv2 Report (RFC 3810 §5.2). Once ParseReport
// accepted it, every record it counts is within it.
type Report []byte

// ParseReport checks b as an MLDv2 report: every record, its sources and
// its auxiliary data within b.
func ParseReport(b []byte) (Report, error) {
	switch {
	case len(b) < 1:
		return nil, ErrShort
	case b[0] != TypeReportV2:
		return nil, ErrType
	case len(b) < ReportLen:
		return nil, ErrShort
	}
	r := b[ReportLen:]
	for n := int(binary.BigEndian.Uint16(b[6:])); n > 0; n-- {
		if len(r) < RecordLen {
			return nil, ErrShort
		}
		l := RecordLen + 4*int(r[1]) + 16*int(binary.BigEndian.Uint16(r[2:]))
		if len(r) < l {
			return nil, ErrShort
		}
		r = r[l:]
	}
	return Report(b), nil
}

// NumRecords is the number of multicast address records.
func (m Report) NumRecords() int { return int(binary.BigEndian.Uint16(m[6:])) }

// Records is the records, the first of NumRecords.
func (m Report) Records() Records { return Records(m[ReportLen:]) }

// Records is a view of the records of a checked report.
type Records []byte

// Next returns the first record and the rest. There must be one left.
func (r Records) Next() (Record, Records) {
	l := RecordLen + 4*int(r[1]) + 16*int(binary.BigEndian.Uint16(r[2:]))
	return Record(r[:l]), r[l:]
}

// Record is a view of one multicast address record (RFC 3810 §5.2.4).
type Record []byte

// Type is the record type (ModeIsExclude, ChangeToInclude...).
func (r Record) Type() uint8 { return r[0] }

// Group is the multicast address.
func (r Record) Group() inet.Addr { return inet.AddrFrom16([16]byte(r[4:20])) }

// NumSources is the number of sources.
func (r Record) NumSources() int { return int(binary.BigEndian.Uint16(r[2:])) }

// Source returns the i-th source.
func (r Record) Source(i int) inet.Addr {
	return inet.AddrFrom16([16]byte(r[RecordLen+16*i : RecordLen+16*i+16]))
}

// RecordFields are the values of one record (no auxiliary data: RFC
// 3810 §5.2.10 defines none).
type RecordFields struct {
	Type    uint8
	Group   inet.Addr
	Sources []inet.Addr
}

// Fields returns r's values (Sources nil if none).
func (r Record) Fields() RecordFields {
	f := RecordFields{Type: r.Type(), Group: r.Group()}
	for i := range r.NumSources() {
		f.Sources = append(f.Sources, r.Source(i))
	}
	return f
}

// Len is the length Encode writes.
func (f *RecordFields) Len() int { return RecordLen + 16*len(f.Sources) }

// Encode writes the record into b[:f.Len()].
func (f *RecordFields) Encode(b []byte) (int, error) {
	n := f.Len()
	if len(f.Sources) > maxSources {
		return 0, ErrCount
	}
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	b[0], b[1] = f.Type, 0
	binary.BigEndian.PutUint16(b[2:], uint16(len(f.Sources)))
	g := f.Group.As16()
	copy(b[4:20], g[:])
	for i, s := range f.Sources {
		a := s.As16()
		copy(b[RecordLen+16*i:], a[:])
	}
	return n, nil
}

// ReportFields are the values of an MLDv2 report.
type ReportFields struct {
	Records []RecordFields
}

// Fields returns m's values.
func (m Report) Fields() ReportFields {
	var f ReportFields
	r := m.Records()
	for range m.NumRecords() {
		var rec Record
		rec, r = r.Next()
		f.Records = append(f.Records, rec.Fields())
	}
	return f
}

// Len is the length Encode writes.
func (f *ReportFields) Len() int {
	n := ReportLen
	for i := range f.Records {
		n += f.Records[i].Len()
	}
	return n
}

// Encode writes the report with a zero checksum into b[:f.Len()].
func (f *ReportFields) Encode(b []byte) (int, error) {
	n := f.Len()
	if len(f.Records) > maxRecords {
		return 0, ErrCount
	}
	for i := range f.Records {
		if len(f.Records[i].Sources) > maxSources {
			return 0, ErrCount
		}
	}
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	b[0], b[1], b[2], b[3], b[4], b[5] = TypeReportV2, 0, 0, 0, 0, 0
	binary.BigEndian.PutUint16(b[6:], uint16(len(f.Records)))
	off := ReportLen
	for i := range f.Records {
		k, err := f.Records[i].Encode(b[off:])
		if err != nil {
			return 0, err
		}
		off += k
	}
	return n, nil
}
