// Package tlshello reads a TLS ClientHello from the start of a stream
// without terminating TLS: enough of it to route the connection by server
// name (RFC 6066 §3) before any byte goes to the server, which then sees
// the ClientHello unchanged. It is how mimic learns the "tls.server_name"
// of an accepted flow (mimic.ServerName).
//
// The parser is strict and bounded: TLS handshake records (RFC 8446 §5.1,
// version 3.x, at most 2^14 bytes each, none empty) carrying one
// client_hello (§4.1.2) of at most the caller's bound, which may be
// fragmented over several records; well-formed vectors inside it,
// extensions at most once each (§4.2), and a server_name extension with
// exactly one host_name of DNS characters without a trailing dot.
// Anything else is an *Error; a valid beginning is ErrIncomplete.
//
// Not done: SSL 2.0-style ClientHellos (refused), ECH (the outer name is
// what it reads).
package tlshello

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Hello is what the router needs from a ClientHello.
type Hello struct {
	// ServerName is the host_name of the server_name extension, in lower
	// case; empty if the client sent none.
	ServerName string
	// ALPN lists the application protocols offered (RFC 7301), if any.
	ALPN []string
	// Version is the client's legacy_version (0x0303 for TLS 1.2 and 1.3).
	Version uint16
}

// ErrIncomplete means the bytes are a valid beginning: read more.
var ErrIncomplete = errors.New("tlshello: incomplete ClientHello")

// Error is a malformed or refused ClientHello.
type Error struct{ Reason string }

// Error implements error.
func (e *Error) Error() string { return "tlshello: " + e.Reason }

func bad(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// Limits of RFC 8446.
const (
	recordHeader = 5
	maxRecord    = 1 << 14 // §5.1: TLSPlaintext.length
	// DefaultMax bounds the ClientHello message (handshake header and
	// body) when Parse is given max <= 0. Hellos with post-quantum key
	// shares are about 2 KiB.
	DefaultMax = 16 << 10
)

const (
	typeHandshake   = 22
	typeClientHello = 1
	extServerName   = 0
	extALPN         = 16
)

// Parse reads the ClientHello from the TLS records at the start of b. It
// returns the Hello and the number of bytes of the records that carried
// it (the last may go on past the ClientHello). max bounds the
// ClientHello message (0: DefaultMax).
func Parse(b []byte, max int) (Hello, int, error) {
	if max <= 0 {
		max = DefaultMax
	}
	var msg []byte // the handshake message, gathered from the records
	off := 0
	for {
		if len(b)-off < recordHeader {
			return Hello{}, 0, checkPartialRecord(b[off:])
		}
		h := b[off : off+recordHeader]
		if err := checkRecordHeader(h); err != nil {
			return Hello{}, 0, err
		}
		n := int(binary.BigEndian.Uint16(h[3:5]))
		if len(b)-off-recordHeader < n {
			// Check what arrived so far before asking for more.
			if err := checkHandshakeStart(append(msg, b[off+recordHeader:]...), max); err != nil {
				return Hello{}, 0, err
			}
			return Hello{}, 0, ErrIncomplete
		}
		msg = append(msg, b[off+recordHeader:off+recordHeader+n]...)
		off += recordHeader + n
		if off > 2*max {
			// Tiny fragments cost 5 header bytes each: bound the
			// records as well as the message they carry.
			return Hello{}, 0, bad("ClientHello fragmented over more than %d bytes of records", 2*max)
		}
		if err := checkHandshakeStart(msg, max); err != nil {
			return Hello{}, 0, err
		}
		if len(msg) >= 4 {
			need := 4 + (int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3]))
			if len(msg) >= need {
				hello, err := parseClientHello(msg[4:need])
				return hello, off, err
			}
		}
	}
}

// checkPartialRecord checks the first bytes of a record header.
func checkPartialRecord(h []byte) error {
	if len(h) > 0 && h[0] != typeHandshake {
		return bad("first record is not a handshake record (type %d)", h[0])
	}
	if len(h) > 1 && h[1] != 3 {
		return bad("record version %d.x, not 3.x", h[1])
	}
	return ErrIncomplete
}

func checkRecordHeader(h []byte) error {
	if h[0] != typeHandshake {
		return bad("record of type %d before the ClientHello ended", h[0])
	}
	if h[1] != 3 {
		return bad("record version %d.%d, not 3.x", h[1], h[2])
	}
	n := int(binary.BigEndian.Uint16(h[3:5]))
	if n == 0 {
		return bad("empty handshake record")
	}
	if n > maxRecord {
		return bad("record of %d bytes, over 2^14", n)
	}
	return nil
}

// checkHandshakeStart checks the handshake header as far as it arrived.
func checkHandshakeStart(msg []byte, max int) error {
	if len(msg) > 0 && msg[0] != typeClientHello {
		return bad("first handshake message is type %d, not client_hello", msg[0])
	}
	if len(msg) >= 4 {
		if n := 4 + (int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])); n > max {
			return bad("ClientHello of %d bytes, over the bound of %d", n, max)
		}
	}
	return nil
}

// reader reads TLS vectors (RFC 8446 §3.4) from a byte string.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = bad("truncated or overlong %s", what)
	}
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil || n > len(r.b) {
		r.fail(what)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8(what string) int {
	v := r.bytes(1, what)
	if v == nil {
		return 0
	}
	return int(v[0])
}

func (r *reader) u16(what string) int {
	v := r.bytes(2, what)
	if v == nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(v))
}

// vec reads a vector with a length prefix of size bytes (1 or 2), whose
// length must lie in [lo, hi].
func (r *reader) vec(size, lo, hi int, what string) []byte {
	var n int
	if size == 1 {
		n = r.u8(what)
	} else {
		n = r.u16(what)
	}
	if r.err == nil && (n < lo || n > hi) {
		r.err = bad("%s of %d bytes, outside %d..%d", what, n, lo, hi)
		return nil
	}
	return r.bytes(n, what)
}

// parseClientHello parses a ClientHello body (RFC 8446 §4.1.2).
func parseClientHello(body []byte) (Hello, error) {
	var h Hello
	r := &reader{b: body}
	h.Version = uint16(r.u16("legacy_version"))
	if r.err == nil && h.Version>>8 != 3 {
		return h, bad("legacy_version %#04x", h.Version)
	}
	r.bytes(32, "random")
	r.vec(1, 0, 32, "legacy_session_id")
	suites := r.vec(2, 2, 1<<16-2, "cipher_suites")
	if r.err == nil && len(suites)%2 != 0 {
		return h, bad("odd cipher_suites length")
	}
	r.vec(1, 1, 255, "legacy_compression_methods")
	if r.err != nil {
		return h, r.err
	}
	if len(r.b) == 0 {
		return h, nil // no extensions (TLS 1.2 allows it): no name
	}
	exts := &reader{b: r.vec(2, 0, 1<<16-1, "extensions")}
	if r.err != nil {
		return h, r.err
	}
	if len(r.b) != 0 {
		return h, bad("bytes after the extensions")
	}
	seen := map[int]bool{}
	for len(exts.b) > 0 {
		typ := exts.u16("extension type")
		data := exts.vec(2, 0, 1<<16-1, "extension")
		if exts.err != nil {
			return h, exts.err
		}
		if seen[typ] {
			return h, bad("extension %d twice", typ)
		}
		seen[typ] = true
		var err error
		switch typ {
		case extServerName:
			h.ServerName, err = parseServerName(data)
		case extALPN:
			h.ALPN, err = parseALPN(data)
		}
		if err != nil {
			return h, err
		}
	}
	return h, nil
}

// parseServerName parses the server_name extension (RFC 6066 §3).
func parseServerName(data []byte) (string, error) {
	r := &reader{b: data}
	list := &reader{b: r.vec(2, 1, 1<<16-1, "server_name_list")}
	if r.err != nil {
		return "", r.err
	}
	if len(r.b) != 0 {
		return "", bad("bytes after server_name_list")
	}
	name := ""
	for len(list.b) > 0 {
		typ := list.u8("name_type")
		v := list.vec(2, 1, 1<<16-1, "host_name")
		if list.err != nil {
			return "", list.err
		}
		if typ != 0 {
			continue // unknown name types are skipped (RFC 6066 §3)
		}
		if name != "" {
			return "", bad("two host_names")
		}
		if err := checkHostName(v); err != nil {
			return "", err
		}
		name = strings.ToLower(string(v))
	}
	return name, nil
}

// checkHostName accepts a DNS name of letters, digits, '-' and '_',
// labels of 1..63, at most 253 bytes, no trailing dot (RFC 6066 §3).
func checkHostName(v []byte) error {
	if len(v) > 253 {
		return bad("host_name of %d bytes", len(v))
	}
	label := 0
	for _, c := range v {
		switch {
		case c == '.':
			if label == 0 {
				return bad("empty label in host_name %q", v)
			}
			label = 0
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return bad("byte %#02x in host_name", c)
		}
		if label++; label > 63 {
			return bad("label over 63 bytes in host_name")
		}
	}
	if label == 0 {
		return bad("host_name %q ends with a dot or is empty", v)
	}
	return nil
}

// parseALPN parses the ALPN extension (RFC 7301 §3.1).
func parseALPN(data []byte) ([]string, error) {
	r := &reader{b: data}
	list := &reader{b: r.vec(2, 2, 1<<16-1, "protocol_name_list")}
	if r.err != nil || len(r.b) != 0 {
		return nil, bad("malformed ALPN extension")
	}
	var out []string
	for len(list.b) > 0 {
		p := list.vec(1, 1, 255, "protocol name")
		if list.err != nil {
			return nil, list.err
		}
		out = append(out, string(p))
	}
	return out, nil
}

// Read reads from r until it holds a whole ClientHello (bounded by max,
// 0: DefaultMax) and returns it with every byte read, which the caller
// passes on to the server before the rest of the stream. A stream that
// ends first gives io.ErrUnexpectedEOF (io.EOF if it sent nothing).
// Deadlines are the caller's.
func Read(r io.Reader, max int) (Hello, []byte, error) {
	if max <= 0 {
		max = DefaultMax
	}
	buf := make([]byte, 0, 2048)
	for {
		h, _, err := Parse(buf, max)
		if err == nil {
			return h, buf, nil
		}
		if !errors.Is(err, ErrIncomplete) {
			return h, buf, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		k, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if k > 0 {
			continue
		}
		switch {
		case rerr == io.EOF && len(buf) == 0:
			return Hello{}, buf, io.EOF
		case rerr == io.EOF:
			return Hello{}, buf, io.ErrUnexpectedEOF
		case rerr != nil:
			return Hello{}, buf, rerr
		}
	}
}
