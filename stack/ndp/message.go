package ndp

import (
	"encoding/binary"
	"errors"

	"github.com/mirago/mirago/stack/inet"
)

// ICMPv6 types of Neighbor Discovery (RFC 4861 §4).
const (
	TypeRouterSolicit   uint8 = 133
	TypeRouterAdvert    uint8 = 134
	TypeNeighborSolicit uint8 = 135
	TypeNeighborAdvert  uint8 = 136
	TypeRedirect        uint8 = 137
)

// The fixed length of each message, ICMPv6 header included, which is
// also its least valid length (RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2,
// §8.1); options follow.
const (
	RSLen       = 8
	RALen       = 16
	NSLen       = 24
	NALen       = 24
	RedirectLen = 40
)

// Parse errors, one per malformation; the Layer counts each separately.
var (
	ErrShort     = errors.New("ndp: message shorter than its fixed part")
	ErrType      = errors.New("ndp: wrong ICMPv6 type")
	ErrCode      = errors.New("ndp: ICMP code is not 0")
	ErrOptionLen = errors.New("ndp: option of length 0 or past the end")
)

// parse checks the parts every ND message shares: at least min bytes,
// type typ, code 0 and a well-formed option chain after the fixed part
// (RFC 4861 §6.1, §7.1, §8.1).
func parse(b []byte, typ uint8, min int) error {
	switch {
	case len(b) < 2:
		return ErrShort
	case b[0] != typ:
		return ErrType
	case b[1] != 0:
		return ErrCode
	case len(b) < min:
		return ErrShort
	}
	_, err := ParseOptions(b[min:])
	return err
}

// header writes the ICMPv6 header (type, code 0, a zero checksum) and
// the options after the fixed part of a message of length n.
func header(b []byte, typ uint8, fixed int, opts []byte) {
	b[0], b[1], b[2], b[3] = typ, 0, 0, 0
	copy(b[fixed:], opts)
}

// RS is a view of a Router Solicitation (RFC 4861 §4.1), ICMPv6 header
// first. Once ParseRS accepted it, no accessor panics.
type RS []byte

// ParseRS checks b as a Router Solicitation.
func ParseRS(b []byte) (RS, error) {
	if err := parse(b, TypeRouterSolicit, RSLen); err != nil {
		return nil, err
	}
	return RS(b), nil
}

// Options is the option chain.
func (m RS) Options() Options { return Options(m[RSLen:]) }

// RSFields are the values of a Router Solicitation.
type RSFields struct {
	Options []byte // encoded options (e.g. LinkAddrOption)
}

// Fields returns m's values (Options is a view into m).
func (m RS) Fields() RSFields { return RSFields{Options: m.Options()} }

// Len is the length Encode writes.
func (f *RSFields) Len() int { return RSLen + len(f.Options) }

// Encode writes the message with a zero checksum (SetChecksum fills it)
// into b[:f.Len()] and returns f.Len(), or inet.ErrBufTooSmall.
func (f *RSFields) Encode(b []byte) (int, error) {
	n := f.Len()
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	clear(b[:RSLen])
	header(b, TypeRouterSolicit, RSLen, f.Options)
	return n, nil
}

// Router Advertisement flag bits (RFC 4861 §4.2, RFC 4191 §2.2).
const (
	FlagManaged = 0x80 // M: addresses from DHCPv6
	FlagOther   = 0x40 // O: other configuration from DHCPv6
	flagPrf     = 0x18 // Prf: default router preference, 2 bits
)

// RA is a view of a Router Advertisement (RFC 4861 §4.2).
type RA []byte

// ParseRA checks b as a Router Advertisement.
func ParseRA(b []byte) (RA, error) {
	if err := parse(b, TypeRouterAdvert, RALen); err != nil {
		return nil, err
	}
	return RA(b), nil
}

// CurHopLimit is the hop limit to use, 0 for unspecified.
func (m RA) CurHopLimit() uint8 { return m[4] }

// Flags is the flags byte (FlagManaged, FlagOther, the preference).
func (m RA) Flags() uint8 { return m[5] }

// Preference is the default router preference (RFC 4191 §2.2): 1 high,
// 0 medium, -1 low; the reserved value 10 reads as medium (§2.2).
func (m RA) Preference() int {
	switch m[5] & flagPrf >> 3 {
	case 1:
		return 1
	case 3:
		return -1
	}
	return 0
}

// RouterLifetime is the lifetime as a default router, in seconds; 0
// means not a default router.
func (m RA) RouterLifetime() uint16 { return binary.BigEndian.Uint16(m[6:]) }

// ReachableTime is in milliseconds, 0 for unspecified.
func (m RA) ReachableTime() uint32 { return binary.BigEndian.Uint32(m[8:]) }

// RetransTimer is in milliseconds, 0 for unspecified.
func (m RA) RetransTimer() uint32 { return binary.BigEndian.Uint32(m[12:]) }

// Options is the option chain.
func (m RA) Options() Options { return Options(m[RALen:]) }

// RAFields are the values of a Router Advertisement.
type RAFields struct {
	CurHopLimit    uint8
	Flags          uint8  // FlagManaged | FlagOther | preference<<3
	RouterLifetime uint16 // seconds
	ReachableTime  uint32 // milliseconds
	RetransTimer   uint32 // milliseconds
	Options        []byte
}

// Fields returns m's values.
func (m RA) Fields() RAFields {
	return RAFields{m.CurHopLimit(), m.Flags(), m.RouterLifetime(), m.ReachableTime(), m.RetransTimer(), m.Options()}
}

// Len is the length Encode writes.
func (f *RAFields) Len() int { return RALen + len(f.Options) }

// Encode writes the message with a zero checksum into b[:f.Len()].
func (f *RAFields) Encode(b []byte) (int, error) {
	n := f.Len()
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	header(b, TypeRouterAdvert, RALen, f.Options)
	b[4], b[5] = f.CurHopLimit, f.Flags
	binary.BigEndian.PutUint16(b[6:], f.RouterLifetime)
	binary.BigEndian.PutUint32(b[8:], f.ReachableTime)
	binary.BigEndian.PutUint32(b[12:], f.RetransTimer)
	return n, nil
}

// NS is a view of a Neighbor Solicitation (RFC 4861 §4.3).
type NS []byte

// ParseNS checks b as a Neighbor Solicitation.
func ParseNS(b []byte) (NS, error) {
	if err := parse(b, TypeNeighborSolicit, NSLen); err != nil {
		return nil, err
	}
	return NS(b), nil
}

// Target is the address being resolved or checked.
func (m NS) Target() inet.Addr { return inet.AddrFrom16([16]byte(m[8:24])) }

// Options is the option chain.
func (m NS) Options() Options { return Options(m[NSLen:]) }

// NSFields are the values of a Neighbor Solicitation.
type NSFields struct {
	Target  inet.Addr
	Options []byte
}

// Fields returns m's values.
func (m NS) Fields() NSFields { return NSFields{m.Target(), m.Options()} }

// Len is the length Encode writes.
func (f *NSFields) Len() int { return NSLen + len(f.Options) }

// Encode writes the message with a zero checksum into b[:f.Len()].
func (f *NSFields) Encode(b []byte) (int, error) {
	n := f.Len()
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	header(b, TypeNeighborSolicit, NSLen, f.Options)
	clear(b[4:8])
	t := f.Target.As16()
	copy(b[8:24], t[:])
	return n, nil
}

// Neighbor Advertisement flag bits (RFC 4861 §4.4).
const (
	flagRouter    = 0x80
	flagSolicited = 0x40
	flagOverride  = 0x20
)

// NA is a view of a Neighbor Advertisement (RFC 4861 §4.4).
type NA []byte

// ParseNA checks b as a Neighbor Advertisement.
func ParseNA(b []byte) (NA, error) {
	if err := parse(b, TypeNeighborAdvert, NALen); err != nil {
		return nil, err
	}
	return NA(b), nil
}

// Router is the R flag: the sender is a router.
func (m NA) Router() bool { return m[4]&flagRouter != 0 }

// Solicited is the S flag: an answer to a solicitation.
func (m NA) Solicited() bool { return m[4]&flagSolicited != 0 }

// Override is the O flag: the link-layer address should replace a
// cached one.
func (m NA) Override() bool { return m[4]&flagOverride != 0 }

// Target is the address advertised.
func (m NA) Target() inet.Addr { return inet.AddrFrom16([16]byte(m[8:24])) }

// Options is the option chain.
func (m NA) Options() Options { return Options(m[NALen:]) }

// NAFields are the values of a Neighbor Advertisement.
type NAFields struct {
	Router, Solicited, Override bool
	Target                      inet.Addr
	Options                     []byte
}

// Fields returns m's values.
func (m NA) Fields() NAFields {
	return NAFields{m.Router(), m.Solicited(), m.Override(), m.Target(), m.Options()}
}

// Len is the length Encode writes.
func (f *NAFields) Len() int { return NALen + len(f.Options) }

// Encode writes the message with a zero checksum into b[:f.Len()].
func (f *NAFields) Encode(b []byte) (int, error) {
	n := f.Len()
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	header(b, TypeNeighborAdvert, NALen, f.Options)
	var fl byte
	if f.Router {
		fl |= flagRouter
	}
	if f.Solicited {
		fl |= flagSolicited
	}
	if f.Override {
		fl |= flagOverride
	}
	b[4], b[5], b[6], b[7] = fl, 0, 0, 0
	t := f.Target.As16()
	copy(b[8:24], t[:])
	return n, nil
}

// Redirect is a view of a Redirect message (RFC 4861 §4.5).
type Redirect []byte

// ParseRedirect checks b as a Redirect.
func ParseRedirect(b []byte) (Redirect, error) {
	if err := parse(b, TypeRedirect, RedirectLen); err != nil {
		return nil, err
	}
	return Redirect(b), nil
}

// Target is the better first hop for Dest.
func (m Redirect) Target() inet.Addr { return inet.AddrFrom16([16]byte(m[8:24])) }

// Dest is the destination being redirected.
func (m Redirect) Dest() inet.Addr { return inet.AddrFrom16([16]byte(m[24:40])) }

// Options is the option chain.
func (m Redirect) Options() Options { return Options(m[RedirectLen:]) }

// RedirectFields are the values of a Redirect.
type RedirectFields struct {
	Target, Dest inet.Addr
	Options      []byte
}

// Fields returns m's values.
func (m Redirect) Fields() RedirectFields { return RedirectFields{m.Target(), m.Dest(), m.Options()} }

// Len is the length Encode writes.
func (f *RedirectFields) Len() int { return RedirectLen + len(f.Options) }

// Encode writes the message with a zero checksum into b[:f.Len()].
func (f *RedirectFields) Encode(b []byte) (int, error) {
	n := f.Len()
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	header(b, TypeRedirect, RedirectLen, f.Options)
	clear(b[4:8])
	t, d := f.Target.As16(), f.Dest.As16()
	copy(b[8:24], t[:])
	copy(b[24:40], d[:])
	return n, nil
}
