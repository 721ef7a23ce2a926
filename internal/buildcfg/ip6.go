package buildcfg

import (
	"errors"
	"strconv"
	"strings"

	"github.com/mirago/mirago/stack/inet"
)

// ParseIP6 parses static IPv6 addresses as the host's -ip6 flag and the
// images' IP6 setting give them: comma-separated ADDR/LEN (2001:db8::15/64;
// a bare address is a /64, as SLAAC's). Each must be a unicast address
// that can be ours: not ::, ::1, multicast or IPv4-mapped.
func ParseIP6(s string) ([]inet.Prefix6, error) {
	var out []inet.Prefix6
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			f += "/64"
		}
		p, err := inet.ParsePrefix6(f)
		if err != nil || p.Bits < 1 || p.Bits > 128 {
			return nil, errors.New("bad IPv6 address " + strconv.Quote(f) + ": want ADDR/LEN such as 2001:db8::15/64")
		}
		if a := p.Addr; !a.Is6() || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() {
			return nil, errors.New("bad IPv6 address " + strconv.Quote(f) + ": not a unicast IPv6 address")
		}
		out = append(out, p)
	}
	return out, nil
}
