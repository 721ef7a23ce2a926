package ndp

import (
	"encoding/binary"

	"github.com/mirago/mirago/stack/inet"
)

// Prefix Information flag bits (RFC 4861 §4.6.2).
const (
	flagOnLink     = 0x80 // L
	flagAutonomous = 0x40 // A
)

// PrefixInfo is a view of a Prefix Information option (RFC 4861 §4.6.2).
type PrefixInfo []byte

// PrefixInfoLen is the option's only valid length: 4 units.
const PrefixInfoLen = 32

// ParsePrefixInfo checks o as a Prefix Information option.
func ParsePrefixInfo(o Option) (PrefixInfo, error) {
	if len(o) != PrefixInfoLen || o[0] != OptPrefixInfo {
		return nil, ErrOption
	}
	return PrefixInfo(o), nil
}

// PrefixLen is the number of leading bits of Prefix that are valid.
func (p PrefixInfo) PrefixLen() uint8 { return p[2] }

// OnLink is the L flag: the prefix is on-link.
func (p PrefixInfo) OnLink() bool { return p[3]&flagOnLink != 0 }

// Autonomous is the A flag: the prefix can be used for SLAAC.
func (p PrefixInfo) Autonomous() bool { return p[3]&flagAutonomous != 0 }

// ValidLifetime is in seconds; Infinity is forever.
func (p PrefixInfo) ValidLifetime() uint32 { return binary.BigEndian.Uint32(p[4:]) }

// PreferredLifetime is in seconds; Infinity is forever.
func (p PrefixInfo) PreferredLifetime() uint32 { return binary.BigEndian.Uint32(p[8:]) }

// Prefix is the prefix as sent (bits past PrefixLen are not cleared).
func (p PrefixInfo) Prefix() inet.Addr { return inet.AddrFrom16([16]byte(p[16:32])) }

// PrefixInfoFields are the values of a Prefix Information option.
type PrefixInfoFields struct {
	PrefixLen          uint8
	OnLink, Autonomous bool
	Valid, Preferred   uint32 // lifetimes, seconds
	Prefix             inet.Addr
}

// Fields returns p's values.
func (p PrefixInfo) Fields() PrefixInfoFields {
	return PrefixInfoFields{p.PrefixLen(), p.OnLink(), p.Autonomous(), p.ValidLifetime(), p.PreferredLifetime(), p.Prefix()}
}

// Len is the length Encode writes: PrefixInfoLen.
func (f *PrefixInfoFields) Len() int { return PrefixInfoLen }

// Encode writes the option into b[:PrefixInfoLen].
func (f *PrefixInfoFields) Encode(b []byte) (int, error) {
	if len(b) < PrefixInfoLen {
		return 0, inet.ErrBufTooSmall
	}
	b[0], b[1], b[2], b[3] = OptPrefixInfo, PrefixInfoLen/8, f.PrefixLen, 0
	if f.OnLink {
		b[3] |= flagOnLink
	}
	if f.Autonomous {
		b[3] |= flagAutonomous
	}
	binary.BigEndian.PutUint32(b[4:], f.Valid)
	binary.BigEndian.PutUint32(b[8:], f.Preferred)
	clear(b[12:16])
	a := f.Prefix.As16()
	copy(b[16:32], a[:])
	return PrefixInfoLen, nil
}
