package sntp

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// HeaderLen is the length of the NTP header (RFC 5905 §7.3, RFC 4330 §4):
// everything an SNTP client sends or reads. Extension fields and a MAC may
// follow it in a reply; they are ignored.
const HeaderLen = 48

// Port is the NTP port (RFC 5905 §7.2).
const Port = 123

// Modes (RFC 5905 §7.3, Figure 10).
const (
	ModeClient    uint8 = 3
	ModeServer    uint8 = 4
	ModeBroadcast uint8 = 5
)

// Leap indicator values (RFC 5905 Figure 9).
const (
	LeapNone   uint8 = 0
	LeapAdd    uint8 = 1 // last minute of the day has 61 seconds
	LeapDelete uint8 = 2 // last minute of the day has 59 seconds
	LeapAlarm  uint8 = 3 // clock unsynchronised
)

// Version is the NTP version we send (RFC 4330 §4: SNTPv4 is NTPv4).
const Version = 4

// Errors from ParsePacket; each is one drop reason.
var (
	ErrShort   = errors.New("sntp: packet shorter than the 48-byte header")
	ErrVersion = errors.New("sntp: version not 1 to 4")
)

// Packet is a view of an NTP packet: the 48-byte header and whatever
// follows it.
//
//	 0                   1                   2                   3
//	|LI | VN  |Mode |    Stratum    |     Poll      |   Precision   |
//	|                          Root Delay                           |
//	|                       Root Dispersion                         |
//	|                     Reference Identifier                      |
//	|                  Reference Timestamp (64)                     |
//	|                  Origin Timestamp (64)                        |
//	|                  Receive Timestamp (64)                       |
//	|                  Transmit Timestamp (64)                      |
type Packet []byte

// ParsePacket checks that b holds a whole header with a version from 1 to
// 4 (RFC 5905 §7.3; RFC 4330 §5 has servers answer versions 1-4); after
// it no accessor can panic. The semantic checks a client makes on a reply
// (mode, stratum, leap, timestamps) are the client's.
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < HeaderLen {
		return nil, ErrShort
	}
	if v := b[0] >> 3 & 7; v < 1 || v > 4 {
		return nil, ErrVersion
	}
	return Packet(b), nil
}

// Leap is the leap indicator.
func (p Packet) Leap() uint8 { return p[0] >> 6 }

// Version is the version number.
func (p Packet) Version() uint8 { return p[0] >> 3 & 7 }

// Mode is the association mode.
func (p Packet) Mode() uint8 { return p[0] & 7 }

// Stratum is the server's stratum: 1 primary, 2-15 secondary, 16
// unsynchronised (RFC 5905 Figure 11); 0 in a server reply is a
// kiss-o'-death (RFC 4330 §8), with its code in RefID.
func (p Packet) Stratum() uint8 { return p[1] }

// Poll is the poll exponent (log2 seconds).
func (p Packet) Poll() int8 { return int8(p[2]) }

// Precision is the server clock's precision exponent (log2 seconds).
func (p Packet) Precision() int8 { return int8(p[3]) }

// RootDelay is the round trip to the server's reference clock.
func (p Packet) RootDelay() Short { return Short(binary.BigEndian.Uint32(p[4:8])) }

// RootDispersion is the server's error bound to its reference clock.
func (p Packet) RootDispersion() Short { return Short(binary.BigEndian.Uint32(p[8:12])) }

// RefID is the reference identifier: an ASCII source name at stratum 1,
// the upstream's IPv4 address (or an IPv6 address hash) above, the
// kiss code at stratum 0.
func (p Packet) RefID() [4]byte { return [4]byte(p[12:16]) }

// Reference is the time the server's clock was last set.
func (p Packet) Reference() Timestamp { return Timestamp(binary.BigEndian.Uint64(p[16:24])) }

// Origin is the client's transmit timestamp, echoed by the server (T1
// on the wire; ours is a random nonce).
func (p Packet) Origin() Timestamp { return Timestamp(binary.BigEndian.Uint64(p[24:32])) }

// Receive is when the request arrived at the server (T2).
func (p Packet) Receive() Timestamp { return Timestamp(binary.BigEndian.Uint64(p[32:40])) }

// Transmit is when the packet left its sender (T3 in a reply).
func (p Packet) Transmit() Timestamp { return Timestamp(binary.BigEndian.Uint64(p[40:48])) }

// Fields are the values of an NTP header.
type Fields struct {
	Leap, Version, Mode uint8
	Stratum             uint8
	Poll, Precision     int8
	RootDelay           Short
	RootDispersion      Short
	RefID               [4]byte
	Reference           Timestamp
	Origin              Timestamp
	Receive             Timestamp
	Transmit            Timestamp
}

// Fields returns p's header values.
func (p Packet) Fields() Fields {
	return Fields{
		Leap: p.Leap(), Version: p.Version(), Mode: p.Mode(),
		Stratum: p.Stratum(), Poll: p.Poll(), Precision: p.Precision(),
		RootDelay: p.RootDelay(), RootDispersion: p.RootDispersion(), RefID: p.RefID(),
		Reference: p.Reference(), Origin: p.Origin(), Receive: p.Receive(), Transmit: p.Transmit(),
	}
}

// Len is the length Encode writes: HeaderLen.
func (f *Fields) Len() int { return HeaderLen }

// Encode writes the header into b[:HeaderLen] and returns HeaderLen, or
// inet.ErrBufTooSmall if b is shorter. Leap, Version and Mode are masked
// to their 2, 3 and 3 bits.
func (f *Fields) Encode(b []byte) (int, error) {
	if len(b) < HeaderLen {
		return 0, inet.ErrBufTooSmall
	}
	b[0] = f.Leap&3<<6 | f.Version&7<<3 | f.Mode&7
	b[1] = f.Stratum
	b[2] = byte(f.Poll)
	b[3] = byte(f.Precision)
	binary.BigEndian.PutUint32(b[4:8], uint32(f.RootDelay))
	binary.BigEndian.PutUint32(b[8:12], uint32(f.RootDispersion))
	copy(b[12:16], f.RefID[:])
	binary.BigEndian.PutUint64(b[16:24], uint64(f.Reference))
	binary.BigEndian.PutUint64(b[24:32], uint64(f.Origin))
	binary.BigEndian.PutUint64(b[32:40], uint64(f.Receive))
	binary.BigEndian.PutUint64(b[40:48], uint64(f.Transmit))
	return HeaderLen, nil
}

// Timestamp is an NTP timestamp (RFC 5905 §6): seconds since the era's
// start in the high 32 bits, the fraction of a second in the low 32.
type Timestamp uint64

// Era boundaries (RFC 4330 §3): era 0 starts on 1 January 1900, era 1 on
// 7 February 2036 06:28:16 UTC.
var (
	era0 = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	era1 = time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)
)

// Time converts t to UTC with RFC 4330 §3's rule, which needs no local
// clock (a board starts in 1970): seconds with the top bit set are in
// era 0 (1968-2036), without it in era 1 (2036-2104). Zero is the zero
// time.Time: "unknown" (RFC 5905 §6).
func (t Timestamp) Time() time.Time {
	if t == 0 {
		return time.Time{}
	}
	sec := t >> 32
	frac := t & 0xffffffff
	base := era1
	if sec&0x80000000 != 0 {
		base = era0
	}
	ns := (frac*1e9 + 1<<31) >> 32 // rounded to the nearest nanosecond
	return base.Add(time.Duration(sec)*time.Second + time.Duration(ns))
}

// TimestampOf converts a time from 1968 to 2104 into an NTP timestamp
// (RFC 4330 §3); times outside are clamped to that range.
func TimestampOf(t time.Time) Timestamp {
	base := era0
	if !t.Before(era1) {
		base = era1
	}
	d := t.Sub(base)
	if d < 0 {
		d = 0
	}
	sec := uint64(d / time.Second)
	if sec > 0xffffffff {
		sec = 0xffffffff
	}
	ns := uint64(d % time.Second)
	frac := (ns<<32 + 5e8) / 1e9 // rounded
	if frac > 0xffffffff {
		frac = 0xffffffff
	}
	return Timestamp(sec<<32 | frac)
}

// Short is the NTP short format (RFC 5905 §6): 16.16 fixed-point seconds.
type Short uint32

// Duration converts s.
func (s Short) Duration() time.Duration {
	return time.Duration((uint64(s)*1e9 + 1<<15) >> 16)
}

// ShortOf converts d (0 to 65536 s; clamped) to the short format.
func ShortOf(d time.Duration) Short {
	if d <= 0 {
		return 0
	}
	if d >= 65536*time.Second {
		return 0xffffffff
	}
	return Short((uint64(d)<<16 + 5e8) / 1e9)
}

// Kiss codes (RFC 5905 §7.4) a client acts on.
var (
	KissRate = [4]byte{'R', 'A', 'T', 'E'} // reduce the polling rate
	KissDeny = [4]byte{'D', 'E', 'N', 'Y'} // access denied: stop using the server
	KissRstr = [4]byte{'R', 'S', 'T', 'R'} // access restricted: stop using the server
)
