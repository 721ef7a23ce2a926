package sntp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// LeaseServers is the word in a server list that stands for the DHCP
// lease's NTP servers (option 42).
const LeaseServers = "dhcp"

// resolveTimeout bounds the lookup of one server name at a poll.
const resolveTimeout = 5 * time.Second

// ParseServers parses a server list as the host runner's -ntp flag and
// the images' NTP= setting give it: comma-separated entries, each an
// IPv4 or IPv6 address (an IPv6 one in brackets when a port follows) or
// a host name with an optional :port (default 123), or
// the word "dhcp" for the lease's servers. It returns the entries as
// "host:port" and whether the lease's servers are wanted.
func ParseServers(list string) (hostports []string, lease bool, err error) {
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
			continue
		case strings.EqualFold(f, LeaseServers):
			lease = true
			continue
		}
		host, port := f, "123"
		if h, p, err := net.SplitHostPort(f); err == nil {
			host, port = h, p
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return nil, false, errors.New("bad NTP server " + strconv.Quote(f) + ": want HOST or HOST:PORT with a port 1-65535")
		}
		if a, err := netip.ParseAddr(host); err == nil {
			if a.Zone() != "" || !a.Unmap().IsGlobalUnicast() {
				return nil, false, errors.New("bad NTP server " + strconv.Quote(f) + ": not a unicast address")
			}
		} else if !validName(host) {
			return nil, false, errors.New("bad NTP server " + strconv.Quote(f) + ": not an IP address or a host name")
		}
		hostports = append(hostports, net.JoinHostPort(host, port))
	}
	return hostports, lease, nil
}

// validName accepts letters, digits, '-' and '.' in labels of 1-63 bytes
// (RFC 1123 §2.1), 253 bytes in all.
func validName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Servers returns a Config.Servers function: hostports (from
// ParseServers) in order, names looked up through resolve at every poll
// (so a changed answer is followed once its TTL has run out, RFC 4330
// §10; names that fail are left out of that poll), then lease's servers
// if lease is not nil. resolve may be nil when every entry is an address.
func Servers(hostports []string, resolve func(ctx context.Context, hostport string) (netip.AddrPort, error), lease func() []netip.AddrPort) func() []netip.AddrPort {
	return func() []netip.AddrPort {
		var out []netip.AddrPort
		for _, hp := range hostports {
			if ap, err := netip.ParseAddrPort(hp); err == nil {
				out = append(out, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
				continue
			}
			if resolve == nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
			ap, err := resolve(ctx, hp)
			cancel()
			if err == nil {
				out = append(out, ap)
			}
		}
		if lease != nil {
			out = append(out, lease()...)
		}
		return out
	}
}
