package inet

import (
	"errors"
	"net"
	"strconv"
)

// MAC is an IEEE 802 MAC-48 address.
type MAC [6]byte

// BroadcastMAC is ff:ff:ff:ff:ff:ff.
var BroadcastMAC = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// IsMulticast reports whether the group bit is set (broadcast included).
func (m MAC) IsMulticast() bool { return m[0]&1 == 1 }

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m == BroadcastMAC }

// IsZero reports whether m is 00:00:00:00:00:00.
func (m MAC) IsZero() bool { return m == MAC{} }

// String returns m as six colon-separated lower-case hex octets.
func (m MAC) String() string {
	const hex = "0123456789abcdef"
	var b [17]byte
	for i, o := range m {
		if i > 0 {
			b[3*i-1] = ':'
		}
		b[3*i], b[3*i+1] = hex[o>>4], hex[o&15]
	}
	return string(b[:])
}

// ParseMAC parses a MAC-48 address such as "52:54:00:12:34:56".
func ParseMAC(s string) (MAC, error) {
	hw, err := net.ParseMAC(s)
	if err != nil {
		return MAC{}, err
	}
	if len(hw) != 6 {
		return MAC{}, errors.New("inet: " + strconv.Quote(s) + " is not a 6-byte MAC address")
	}
	return MAC(hw), nil
}

// RandomMAC returns a random unicast, locally administered address
// (IEEE 802 §8.2.2: bit 1 of the first octet set, bit 0 clear) using read,
// typically crypto/rand.Read or the stack's injected randomness.
func RandomMAC(read func([]byte) (int, error)) (MAC, error) {
	var m MAC
	if _, err := read(m[:]); err != nil {
		return MAC{}, err
	}
	m[0] = m[0]&^1 | 2
	return m, nil
}
