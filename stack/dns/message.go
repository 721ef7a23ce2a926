package dns

import (
	"encoding/binary"
	"net/netip"
)

// Record types and classes used here (RFC 1035 §3.2.2, §3.2.4).
const (
	TypeA     uint16 = 1
	TypeNS    uint16 = 2
	TypeCNAME uint16 = 5
	TypeSOA   uint16 = 6
	TypeAAAA  uint16 = 28
	ClassINET uint16 = 1
)

// Response codes (RFC 1035 §4.1.1).
const (
	RCodeSuccess  uint8 = 0
	RCodeFormErr  uint8 = 1
	RCodeServFail uint8 = 2
	RCodeNXDomain uint8 = 3
	RCodeNotImp   uint8 = 4
	RCodeRefused  uint8 = 5
)

// Header is the fixed 12-byte message header (RFC 1035 §4.1.1) minus the
// section counts, which come from the section slices.
type Header struct {
	ID                 uint16
	Response           bool  // QR
	Opcode             uint8 // 0 = QUERY
	Authoritative      bool  // AA
	Truncated          bool  // TC
	RecursionDesired   bool  // RD
	RecursionAvailable bool  // RA
	RCode              uint8
}

// Question is a question section entry (RFC 1035 §4.1.2).
type Question struct {
	Name  string // presentation form, no trailing dot
	Type  uint16
	Class uint16
}

// Resource is a resource record (RFC 1035 §4.1.3). Data is a view into the
// parsed message; the typed fields are filled for the types this package
// understands.
type Resource struct {
	Name  string
	Type  uint16
	Class uint16
	TTL   uint32
	Data  []byte // RDATA, a view into the message

	A      netip.Addr // TypeA
	AAAA   netip.Addr // TypeAAAA
	Target string     // TypeCNAME (and TypeNS): the decompressed name
	SOA    SOA        // TypeSOA
}

// SOA holds the SOA fields needed for negative caching (RFC 2308 §5).
type SOA struct {
	MName, RName                            string
	Serial, Refresh, Retry, Expire, Minimum uint32
}

// Message is a decoded DNS message.
type Message struct {
	Header
	Questions   []Question
	Answers     []Resource
	Authorities []Resource
	Additionals []Resource
}

// ParseMessage decodes msg. It never panics; on malformed input it returns
// a *ParseError wrapping ErrTruncated, ErrPointer, ErrLabel,
// ErrNameTooLong or ErrRDLength. Resource.Data fields alias msg. Bytes after
// the last counted record are ignored.
func ParseMessage(msg []byte) (*Message, error) {
	if len(msg) < headerLen {
		return nil, &ParseError{0, ErrTruncated}
	}
	flags := binary.BigEndian.Uint16(msg[2:])
	m := &Message{Header: Header{
		ID:                 binary.BigEndian.Uint16(msg),
		Response:           flags&(1<<15) != 0,
		Opcode:             uint8(flags>>11) & 0xf,
		Authoritative:      flags&(1<<10) != 0,
		Truncated:          flags&(1<<9) != 0,
		RecursionDesired:   flags&(1<<8) != 0,
		RecursionAvailable: flags&(1<<7) != 0,
		RCode:              uint8(flags & 0xf),
	}}
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	an := int(binary.BigEndian.Uint16(msg[6:]))
	ns := int(binary.BigEndian.Uint16(msg[8:]))
	ar := int(binary.BigEndian.Uint16(msg[10:]))
	// Every question needs at least 5 bytes and every record 11; reject
	// impossible counts before allocating anything for them.
	if headerLen+5*qd+11*(an+ns+ar) > len(msg) {
		return nil, &ParseError{4, ErrTruncated}
	}
	off := headerLen
	for range qd {
		name, next, err := readName(msg, off)
		if err != nil {
			return nil, err
		}
		if next+4 > len(msg) {
			return nil, &ParseError{next, ErrTruncated}
		}
		m.Questions = append(m.Questions, Question{
			Name:  name,
			Type:  binary.BigEndian.Uint16(msg[next:]),
			Class: binary.BigEndian.Uint16(msg[next+2:]),
		})
		off = next + 4
	}
	var err error
	if m.Answers, off, err = parseSection(msg, off, an); err != nil {
		return nil, err
	}
	if m.Authorities, off, err = parseSection(msg, off, ns); err != nil {
		return nil, err
	}
	if m.Additionals, _, err = parseSection(msg, off, ar); err != nil {
		return nil, err
	}
	return m, nil
}

func parseSection(msg []byte, off, n int) ([]Resource, int, error) {
	var rrs []Resource
	for range n {
		rr, next, err := parseResource(msg, off)
		if err != nil {
			return nil, 0, err
		}
		rrs = append(rrs, rr)
		off = next
	}
	return rrs, off, nil
}

// parseResource decodes the record at off (RFC 1035 §4.1.3).
func parseResource(msg []byte, off int) (Resource, int, error) {
	name, p, err := readName(msg, off)
	if err != nil {
		return Resource{}, 0, err
	}
	if p+10 > len(msg) {
		return Resource{}, 0, &ParseError{p, ErrTruncated}
	}
	rr := Resource{
		Name:  name,
		Type:  binary.BigEndian.Uint16(msg[p:]),
		Class: binary.BigEndian.Uint16(msg[p+2:]),
		TTL:   binary.BigEndian.Uint32(msg[p+4:]),
	}
	rdlen := int(binary.BigEndian.Uint16(msg[p+8:]))
	rd := p + 10
	end := rd + rdlen
	if end > len(msg) {
		return Resource{}, 0, &ParseError{p + 8, ErrRDLength}
	}
	rr.Data = msg[rd:end:end]
	switch rr.Type {
	case TypeA:
		if rr.Class == ClassINET {
			if rdlen != 4 {
				return Resource{}, 0, &ParseError{p + 8, ErrRDLength}
			}
			rr.A = netip.AddrFrom4([4]byte(rr.Data))
		}
	case TypeAAAA:
		if rr.Class == ClassINET {
			// RFC 3596 §2.2: 16 octets, network byte order.
			if rdlen != 16 {
				return Resource{}, 0, &ParseError{p + 8, ErrRDLength}
			}
			rr.AAAA = netip.AddrFrom16([16]byte(rr.Data))
		}
	case TypeCNAME, TypeNS:
		// The name is read from the whole message (it may be
		// compressed) but must end exactly at the end of RDATA.
		t, next, err := readName(msg[:end], rd)
		if err != nil {
			return Resource{}, 0, err
		}
		if next != end {
			return Resource{}, 0, &ParseError{p + 8, ErrRDLength}
		}
		rr.Target = t
	case TypeSOA:
		soa, err := parseSOA(msg[:end], rd)
		if err != nil {
			return Resource{}, 0, err
		}
		rr.SOA = soa
	}
	return rr, end, nil
}

// parseSOA decodes SOA RDATA spanning off..len(msg) (RFC 1035 §3.3.13).
func parseSOA(msg []byte, off int) (SOA, error) {
	var s SOA
	var err error
	if s.MName, off, err = readName(msg, off); err != nil {
		return SOA{}, err
	}
	if s.RName, off, err = readName(msg, off); err != nil {
		return SOA{}, err
	}
	if off+20 != len(msg) {
		return SOA{}, &ParseError{off, ErrRDLength}
	}
	s.Serial = binary.BigEndian.Uint32(msg[off:])
	s.Refresh = binary.BigEndian.Uint32(msg[off+4:])
	s.Retry = binary.BigEndian.Uint32(msg[off+8:])
	s.Expire = binary.BigEndian.Uint32(msg[off+12:])
	s.Minimum = binary.BigEndian.Uint32(msg[off+16:])
	return s, nil
}

// AppendQuery appends a recursive (RD=1) standard query for name and
// qtype, class IN, with the given ID (RFC 1035 §4.1). The name is not
// compressed.
func AppendQuery(b []byte, id uint16, name string, qtype uint16) ([]byte, error) {
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, id)
	b = binary.BigEndian.AppendUint16(b, 1<<8) // RD
	b = binary.BigEndian.AppendUint16(b, 1)    // QDCOUNT
	b = append(b, 0, 0, 0, 0, 0, 0)            // AN, NS, AR
	b, err := appendName(b, name)
	if err != nil {
		return b[:start], err
	}
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, ClassINET), nil
}
