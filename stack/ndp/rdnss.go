package ndp

import (
	"encoding/binary"

	"github.com/mirago/mirago/stack/inet"
)

// RDNSS is a view of a Recursive DNS Server option (RFC 8106 §5.1).
type RDNSS []byte

// ParseRDNSS checks o as an RDNSS option: a length of 3 units or more
// and odd, that is one or more whole 16-byte addresses (RFC 8106 §5.1;
// §5.3.1 has a host ignore any other).
func ParseRDNSS(o Option) (RDNSS, error) {
	if len(o) < 24 || (len(o)/8)%2 == 0 || o[0] != OptRDNSS {
		return nil, ErrOption
	}
	return RDNSS(o), nil
}

// Lifetime is how long the servers may be used, in seconds; 0 means no
// longer, Infinity forever.
func (o RDNSS) Lifetime() uint32 { return binary.BigEndian.Uint32(o[4:8]) }

// NumServers is the number of addresses carried.
func (o RDNSS) NumServers() int { return (len(o) - 8) / 16 }

// Server returns the i-th address, 0 <= i < NumServers().
func (o RDNSS) Server(i int) inet.Addr {
	return inet.AddrFrom16([16]byte(o[8+16*i : 24+16*i]))
}

// RDNSSFields are the values of an RDNSS option.
type RDNSSFields struct {
	Lifetime uint32 // seconds
	Servers  []inet.Addr
}

// Fields returns o's values (Servers is a new slice).
func (o RDNSS) Fields() RDNSSFields {
	f := RDNSSFields{Lifetime: o.Lifetime(), Servers: make([]inet.Addr, o.NumServers())}
	for i := range f.Servers {
		f.Servers[i] = o.Server(i)
	}
	return f
}

// Len is the length Encode writes: 8 plus 16 per server.
func (f *RDNSSFields) Len() int { return 8 + 16*len(f.Servers) }

// Encode writes the option into b[:f.Len()]; it needs one server at
// least and at most 127.
func (f *RDNSSFields) Encode(b []byte) (int, error) {
	n := f.Len()
	if len(f.Servers) == 0 || n > 255*8 {
		return 0, ErrOption
	}
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	b[0], b[1], b[2], b[3] = OptRDNSS, byte(n/8), 0, 0
	binary.BigEndian.PutUint32(b[4:8], f.Lifetime)
	for i, s := range f.Servers {
		a := s.As16()
		copy(b[8+16*i:], a[:])
	}
	return n, nil
}
