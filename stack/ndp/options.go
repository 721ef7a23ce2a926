package ndp

import (
	"encoding/binary"
	"errors"

	"github.com/mirago/mirago/stack/inet"
)

// Option types (RFC 4861 §4.6, RFC 3971 §5.3.2, RFC 8106 §5).
const (
	OptSourceLinkAddr   uint8 = 1
	OptTargetLinkAddr   uint8 = 2
	OptPrefixInfo       uint8 = 3
	OptRedirectedHeader uint8 = 4
	OptMTU              uint8 = 5
	OptNonce            uint8 = 14
	OptRDNSS            uint8 = 25
	OptDNSSL            uint8 = 31
)

// Infinity is the all-ones lifetime (RFC 4861 §4.6.2, RFC 8106 §5.1).
const Infinity uint32 = 0xffffffff

// Option parse errors.
var (
	ErrOption = errors.New("ndp: option of the wrong length for its type")
)

// Options is a view of a well-formed option chain: every option's length
// is non-zero and within the chain (RFC 4861 §4.6). Messages parsed by
// ParseX return their chain already checked.
type Options []byte

// ParseOptions checks b as an option chain.
func ParseOptions(b []byte) (Options, error) {
	for o := b; len(o) > 0; {
		if len(o) < 2 || o[1] == 0 || int(o[1])*8 > len(o) {
			return nil, ErrOptionLen
		}
		o = o[int(o[1])*8:]
	}
	return Options(b), nil
}

// Next returns the first option and the rest of the chain. o must not be
// empty.
func (o Options) Next() (Option, Options) {
	n := int(o[1]) * 8
	return Option(o[:n]), o[n:]
}

// Option is a view of one option: type, length in units of 8 bytes, data.
type Option []byte

// Type is the option type.
func (o Option) Type() uint8 { return o[0] }

// LinkAddrOption is a view of a source or target link-layer address
// option for Ethernet (RFC 4861 §4.6.1, RFC 2464 §6).
type LinkAddrOption []byte

// ParseLinkAddr checks o as an Ethernet link-layer address option:
// length 1 (8 bytes).
func ParseLinkAddr(o Option) (LinkAddrOption, error) {
	if len(o) != 8 || (o[0] != OptSourceLinkAddr && o[0] != OptTargetLinkAddr) {
		return nil, ErrOption
	}
	return LinkAddrOption(o), nil
}

// MAC is the address carried.
func (o LinkAddrOption) MAC() inet.MAC { return inet.MAC(o[2:8]) }

// LinkAddrFields are the values of a link-layer address option.
type LinkAddrFields struct {
	Type uint8 // OptSourceLinkAddr or OptTargetLinkAddr
	MAC  inet.MAC
}

// Fields returns o's values.
func (o LinkAddrOption) Fields() LinkAddrFields { return LinkAddrFields{o[0], o.MAC()} }

// Len is the length Encode writes: 8.
func (f *LinkAddrFields) Len() int { return 8 }

// Encode writes the option into b[:8].
func (f *LinkAddrFields) Encode(b []byte) (int, error) {
	if len(b) < 8 {
		return 0, inet.ErrBufTooSmall
	}
	b[0], b[1] = f.Type, 1
	copy(b[2:8], f.MAC[:])
	return 8, nil
}

// MTUOption is a view of an MTU option (RFC 4861 §4.6.4).
type MTUOption []byte

// ParseMTU checks o as an MTU option: length 1.
func ParseMTU(o Option) (MTUOption, error) {
	if len(o) != 8 || o[0] != OptMTU {
		return nil, ErrOption
	}
	return MTUOption(o), nil
}

// MTU is the link MTU advertised.
func (o MTUOption) MTU() uint32 { return binary.BigEndian.Uint32(o[4:8]) }

// MTUFields are the values of an MTU option.
type MTUFields struct{ MTU uint32 }

// Fields returns o's values.
func (o MTUOption) Fields() MTUFields { return MTUFields{o.MTU()} }

// Len is the length Encode writes: 8.
func (f *MTUFields) Len() int { return 8 }

// Encode writes the option into b[:8].
func (f *MTUFields) Encode(b []byte) (int, error) {
	if len(b) < 8 {
		return 0, inet.ErrBufTooSmall
	}
	b[0], b[1], b[2], b[3] = OptMTU, 1, 0, 0
	binary.BigEndian.PutUint32(b[4:8], f.MTU)
	return 8, nil
}

// NonceLen is the nonce length we send: 6 bytes fill one 8-byte unit
// (RFC 3971 §5.3.2, RFC 7527 §4.1).
const NonceLen = 6

// NonceOption is a view of a Nonce option (RFC 3971 §5.3.2), which
// enhanced DAD uses to recognise its own looped-back solicitations
// (RFC 7527 §4).
type NonceOption []byte

// ParseNonce checks o as a Nonce option: at least 6 nonce bytes.
func ParseNonce(o Option) (NonceOption, error) {
	if len(o) < 2+NonceLen || o[0] != OptNonce {
		return nil, ErrOption
	}
	return NonceOption(o), nil
}

// Nonce is the nonce (all the option's data).
func (o NonceOption) Nonce() []byte { return o[2:] }

// NonceFields are the values of a 6-byte Nonce option.
type NonceFields struct{ Nonce [NonceLen]byte }

// Fields returns the first 6 bytes of o's nonce.
func (o NonceOption) Fields() NonceFields { return NonceFields{[NonceLen]byte(o[2:8])} }

// Len is the length Encode writes: 8.
func (f *NonceFields) Len() int { return 8 }

// Encode writes the option into b[:8].
func (f *NonceFields) Encode(b []byte) (int, error) {
	if len(b) < 8 {
		return 0, inet.ErrBufTooSmall
	}
	b[0], b[1] = OptNonce, 1
	copy(b[2:8], f.Nonce[:])
	return 8, nil
}

// RedirectedHeader is a view of a Redirected Header option (RFC 4861
// §4.6.3): as much of the redirected packet as fits.
type RedirectedHeader []byte

// ParseRedirectedHeader checks o as a Redirected Header option.
func ParseRedirectedHeader(o Option) (RedirectedHeader, error) {
	if len(o) < 8 || o[0] != OptRedirectedHeader {
		return nil, ErrOption
	}
	return RedirectedHeader(o), nil
}

// Packet is the quoted IP header and data (padding included).
func (o RedirectedHeader) Packet() []byte { return o[8:] }

// RedirectedHeaderFields are the values of a Redirected Header option.
type RedirectedHeaderFields struct{ Packet []byte }

// Fields returns o's values.
func (o RedirectedHeader) Fields() RedirectedHeaderFields {
	return RedirectedHeaderFields{o.Packet()}
}

// Len is the length Encode writes: 8 plus the packet padded to 8 bytes.
func (f *RedirectedHeaderFields) Len() int { return 8 + (len(f.Packet)+7)&^7 }

// Encode writes the option into b[:f.Len()], zero padded; f.Len() must
// stay under 2048 (the length field counts 255 units at most).
func (f *RedirectedHeaderFields) Encode(b []byte) (int, error) {
	n := f.Len()
	if n > 255*8 {
		return 0, ErrOption
	}
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	b[0], b[1] = OptRedirectedHeader, byte(n/8)
	clear(b[2:8])
	m := copy(b[8:n], f.Packet)
	clear(b[8+m : n])
	return n, nil
}
