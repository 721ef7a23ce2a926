package proxyproto

import (
	"bytes"
	"net/netip"
	"strconv"
)

// v1 (proxy-protocol.txt §2.1): one line of US-ASCII,
//
//	"PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF
//	"PROXY" SP "UNKNOWN" [SP anything] CRLF
//
// at most 107 bytes with the CRLF.

var sigV1 = []byte("PROXY ")

// parseV1 parses a v1 header at the start of b (b[0] == 'P').
func parseV1(b []byte) (Header, int, error) {
	n := min(len(b), len(sigV1))
	if !bytes.Equal(b[:n], sigV1[:n]) {
		if n < len(sigV1) && bytes.HasPrefix(sigV1, b[:n]) {
			return Header{}, 0, ErrIncomplete
		}
		return Header{}, 0, &Error{Reason: "neither the v1 nor the v2 signature"}
	}
	if len(b) < len(sigV1) {
		return Header{}, 0, ErrIncomplete
	}
	window := b[:min(len(b), MaxV1)]
	end := bytes.Index(window, []byte("\r\n"))
	if end < 0 {
		if err := checkV1Prefix(window); err != nil {
			return Header{}, 0, err
		}
		if len(b) >= MaxV1 {
			return Header{}, 0, v1Err("no CRLF within 107 bytes")
		}
		return Header{}, 0, ErrIncomplete
	}
	line := window[:end]
	if err := checkV1Prefix(line); err != nil {
		return Header{}, 0, err
	}
	h, err := parseV1Line(line)
	return h, end + 2, err
}

// checkV1Prefix fails early on bytes no v1 header has: control
// characters, or a protocol that is none of the three.
func checkV1Prefix(b []byte) error {
	for i, c := range b {
		if c == '\r' && i == len(b)-1 {
			break // the CR of the CRLF, whose LF is still to come
		}
		if c < 0x20 || c > 0x7e {
			return v1Err("control or non-ASCII byte")
		}
	}
	proto := bytes.TrimSuffix(b[len(sigV1):], []byte("\r"))
	if i := bytes.IndexByte(proto, ' '); i >= 0 {
		proto = proto[:i]
	} else if len(b) < MaxV1 && !bytes.HasSuffix(b, []byte("\r")) {
		// Still arriving: a prefix of a known protocol will do.
		for _, p := range []string{"TCP4", "TCP6", "UNKNOWN"} {
			if bytes.HasPrefix([]byte(p), proto) {
				return nil
			}
		}
		return v1Err("unknown protocol " + strconv.Quote(string(proto)))
	}
	switch string(proto) {
	case "TCP4", "TCP6", "UNKNOWN":
		return nil
	}
	return v1Err("unknown protocol " + strconv.Quote(string(proto)))
}

// parseV1Line parses a whole v1 line without its CRLF.
func parseV1Line(line []byte) (Header, error) {
	h := Header{Version: 1, Command: Proxy}
	f := bytes.Split(line[len(sigV1):], []byte(" "))
	if string(f[0]) == "UNKNOWN" {
		// §2.1: the receiver ignores whatever follows UNKNOWN.
		return h, nil
	}
	if len(f) != 5 {
		return h, v1Err("want protocol, two addresses and two ports separated by single spaces")
	}
	src, err1 := parseV1Addr(f[1], string(f[0]))
	dst, err2 := parseV1Addr(f[2], string(f[0]))
	sp, err3 := parseV1Port(f[3])
	dp, err4 := parseV1Port(f[4])
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			return h, err
		}
	}
	h.Transport = TCP
	h.Source, h.Dest = netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)
	return h, nil
}

func parseV1Addr(b []byte, proto string) (netip.Addr, error) {
	a, err := netip.ParseAddr(string(b))
	switch {
	case err != nil:
		return a, v1Err("bad address " + strconv.Quote(string(b)))
	case a.Zone() != "":
		return a, v1Err("address with a zone " + strconv.Quote(string(b)))
	case proto == "TCP4" && !a.Is4():
		return a, v1Err("TCP4 with a non-IPv4 address " + strconv.Quote(string(b)))
	case proto == "TCP6" && !a.Is6():
		return a, v1Err("TCP6 with a non-IPv6 address " + strconv.Quote(string(b)))
	}
	return a, nil
}

// parseV1Port parses a decimal port 0..65535 without leading zeros.
func parseV1Port(b []byte) (uint16, error) {
	if len(b) == 0 || len(b) > 5 || (b[0] == '0' && len(b) > 1) {
		return 0, v1Err("bad port " + strconv.Quote(string(b)))
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, v1Err("bad port " + strconv.Quote(string(b)))
		}
		v = v*10 + int(c-'0')
	}
	if v > 65535 {
		return 0, v1Err("port out of range " + strconv.Quote(string(b)))
	}
	return uint16(v), nil
}

// AppendV1 appends h as a v1 header to b: TCP4 when both addresses are
// IPv4, TCP6 when both are IPv6 (an IPv4 address beside an IPv6 one is
// written IPv4-mapped), UNKNOWN when h relays no TCP client.
func (h *Header) AppendV1(b []byte) []byte {
	b = append(b, sigV1...)
	if !h.Relayed() || h.Transport != TCP || !h.Dest.IsValid() {
		return append(b, "UNKNOWN\r\n"...)
	}
	src, dst := h.Source.Addr().WithZone(""), h.Dest.Addr().WithZone("")
	if src.Is4() && dst.Is4() {
		b = append(b, "TCP4 "...)
	} else {
		src, dst = as16(src), as16(dst)
		b = append(b, "TCP6 "...)
	}
	b = src.AppendTo(b)
	b = append(b, ' ')
	b = dst.AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(h.Source.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(h.Dest.Port()), 10)
	return append(b, "\r\n"...)
}

// as16 returns a as an IPv6 address (IPv4-mapped if it is IPv4).
func as16(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.AddrFrom16(a.As16())
	}
	return a
}
