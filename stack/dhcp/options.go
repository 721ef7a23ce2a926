package dhcp

import (
	"encoding/binary"
	"fmt"

	"github.com/mirago/mirago/stack/inet"
)

// Option codes used by the client (RFC 2132).
const (
	OptPad           uint8 = 0
	OptSubnetMask    uint8 = 1  // §3.3
	OptRouter        uint8 = 3  // §3.5
	OptDNS           uint8 = 6  // §3.8
	OptHostname      uint8 = 12 // §3.14
	OptInterfaceMTU  uint8 = 26 // §5.1
	OptNTP           uint8 = 42 // §8.3, NTP servers
	OptRequestedIP   uint8 = 50 // §9.1
	OptLeaseTime     uint8 = 51 // §9.2
	OptOverload      uint8 = 52 // §9.3
	OptMessageType   uint8 = 53 // §9.6
	OptServerID      uint8 = 54 // §9.7
	OptParamRequest  uint8 = 55 // §9.8
	OptMessage       uint8 = 56 // §9.9
	OptRenewalTime   uint8 = 58 // §9.11, T1
	OptRebindingTime uint8 = 59 // §9.12, T2
	OptClientID      uint8 = 61 // §9.14
	OptEnd           uint8 = 255
)

// Option is one option; Data aliases the parsed message unless the option
// was split over several TLVs and had to be concatenated.
type Option struct {
	Code uint8
	Data []byte
}

// Options is an ordered option list with at most one entry per code.
//
// Duplicates: a code that appears more than once is concatenated into one
// option in order of appearance, across the options, file and sname fields
// in that order (RFC 3396 §5-§7). This is also how long options (over 255
// bytes) are encoded by Add.
type Options []Option

// Get returns the data of option code.
func (o Options) Get(code uint8) ([]byte, bool) {
	for _, x := range o {
		if x.Code == code {
			return x.Data, true
		}
	}
	return nil, false
}

// Add appends an option (replacing an earlier one with the same code).
func (o *Options) Add(code uint8, data []byte) {
	for i := range *o {
		if (*o)[i].Code == code {
			(*o)[i].Data = data
			return
		}
	}
	*o = append(*o, Option{code, data})
}

// merge adds data for code, concatenating onto an existing entry (RFC 3396).
func (o Options) merge(code uint8, data []byte) Options {
	for i := range o {
		if o[i].Code == code {
			d := o[i].Data
			o[i].Data = append(d[:len(d):len(d)], data...) // always copies
			return o
		}
	}
	return append(o, Option{code, data})
}

// MessageType returns option 53, or 0 if absent.
func (o Options) MessageType() MessageType {
	if d, ok := o.Get(OptMessageType); ok && len(d) == 1 {
		return MessageType(d[0])
	}
	return 0
}

// Addr returns a 4-byte address option.
func (o Options) Addr(code uint8) (inet.Addr4, bool) {
	d, ok := o.Get(code)
	if !ok || len(d) != 4 {
		return inet.Addr4{}, false
	}
	return inet.Addr4(d), true
}

// Addrs returns an address-list option (router, DNS, NTP).
func (o Options) Addrs(code uint8) []inet.Addr4 {
	d, _ := o.Get(code)
	var as []inet.Addr4
	for len(d) >= 4 {
		as = append(as, inet.Addr4(d[:4]))
		d = d[4:]
	}
	return as
}

// Uint32 returns a 4-byte integer option (lease time, T1, T2).
func (o Options) Uint32(code uint8) (uint32, bool) {
	d, ok := o.Get(code)
	if !ok || len(d) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(d), true
}

// Uint16 returns a 2-byte integer option (MTU).
func (o Options) Uint16(code uint8) (uint16, bool) {
	d, ok := o.Get(code)
	if !ok || len(d) != 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(d), true
}

// parseOptions reads TLVs from b into o (RFC 2132 §2). With needEnd, the
// field must be terminated by the end option; pad bytes are skipped and
// everything after the end option is ignored.
func parseOptions(b []byte, o Options, needEnd bool) (Options, error) {
	for i := 0; i < len(b); {
		code := b[i]
		switch code {
		case OptPad:
			i++
			continue
		case OptEnd:
			return o, nil
		}
		if i+1 >= len(b) {
			return nil, fmt.Errorf("%w: option %d has no length", ErrOptionTruncated, code)
		}
		l := int(b[i+1])
		if i+2+l > len(b) {
			return nil, fmt.Errorf("%w: option %d length %d beyond the end", ErrOptionTruncated, code, l)
		}
		o = o.merge(code, b[i+2:i+2+l])
		i += 2 + l
	}
	if needEnd {
		return nil, ErrNoEnd
	}
	return o, nil
}

// checkOptions enforces the lengths RFC 2132 gives the options this
// package interprets; a malformed one makes the whole message invalid.
func checkOptions(o Options) error {
	for _, x := range o {
		l, ok := len(x.Data), true
		switch x.Code {
		case OptMessageType:
			ok = l == 1 && x.Data[0] >= 1 && x.Data[0] <= 8
		case OptSubnetMask, OptRequestedIP, OptServerID, OptLeaseTime, OptRenewalTime, OptRebindingTime:
			ok = l == 4
		case OptRouter, OptDNS, OptNTP:
			ok = l >= 4 && l%4 == 0
		case OptInterfaceMTU:
			ok = l == 2 && binary.BigEndian.Uint16(x.Data) >= 68
		case OptOverload:
			ok = l == 1 && x.Data[0] >= 1 && x.Data[0] <= 3
		case OptParamRequest, OptHostname, OptMessage:
			ok = l >= 1
		case OptClientID:
			ok = l >= 2
		}
		if !ok {
			return fmt.Errorf("%w: option %d length %d", ErrOptionLength, x.Code, l)
		}
	}
	return nil
}

// appendOptions encodes o, splitting data longer than 255 bytes into
// consecutive TLVs (RFC 3396 §6), followed by the end option.
func appendOptions(b []byte, o Options) []byte {
	for _, x := range o {
		d := x.Data
		for {
			n := min(len(d), 255)
			b = append(b, x.Code, byte(n))
			b = append(b, d[:n]...)
			d = d[n:]
			if len(d) == 0 {
				break
			}
		}
	}
	return append(b, OptEnd)
}
