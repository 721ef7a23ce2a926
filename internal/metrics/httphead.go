package metrics

// The HTTP/1.1 request head parser and response framing of the scrape
// endpoint (serve.go).

import (
	"bytes"
	"io"
	"strconv"
	"strings"
)

// statusText is the reason phrase of the statuses the endpoint sends.
func statusText(status int) string {
	switch status {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 405:
		return "Method Not Allowed"
	case 431:
		return "Request Header Fields Too Large"
	case 505:
		return "HTTP Version Not Supported"
	}
	return ""
}

// errorResponse is a complete response with status and a one-line plain
// text body (none for a HEAD request).
func errorResponse(status int, isHead bool) []byte {
	body := strconv.Itoa(status) + " " + statusText(status) + "\n"
	out := make([]byte, 0, 160+len(body))
	out = append(out, "HTTP/1.1 "...)
	out = append(out, body[:len(body)-1]...)
	out = append(out, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	if status == 405 {
		out = append(out, "\r\nAllow: GET, HEAD"...)
	}
	out = append(out, "\r\nConnection: close\r\n\r\n"...)
	if !isHead {
		out = append(out, body...)
	}
	return out
}

// readHead reads from r into buf until buf holds a complete request head
// (end > 0 is its length), buf is full (n == len(buf)) or Read fails.
func readHead(r io.Reader, buf []byte) (n, end int, err error) {
	var sc headScanner
	for n < len(buf) {
		var m int
		m, err = r.Read(buf[n:])
		n += m
		if end = sc.scan(buf[:n]); end > 0 {
			return n, end, nil
		}
		if err != nil {
			return n, 0, err
		}
	}
	return n, 0, nil
}

// headScanner finds the end of a request head in a growing buffer: the
// first empty line after a non-empty one, lines ended by LF or CRLF.
// Empty lines before the request line are skipped (RFC 9112 §2.2).
type headScanner struct {
	off       int  // bytes scanned
	lineStart int  // start of the current line
	started   bool // a non-empty line was seen
}

// scan continues over b, which extends the b of earlier calls, and
// returns the length of the head, or 0 if it is not complete yet.
func (s *headScanner) scan(b []byte) int {
	for s.off < len(b) {
		i := bytes.IndexByte(b[s.off:], '\n')
		if i < 0 {
			s.off = len(b)
			return 0
		}
		eol := s.off + i
		line := b[s.lineStart:eol]
		s.off, s.lineStart = eol+1, eol+1
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			if s.started {
				return s.off
			}
			continue
		}
		s.started = true
	}
	return 0
}

// requestHead is what the responder needs of a request.
type requestHead struct {
	method string
	target string
	minor  int // HTTP/1.minor
}

// parseRequestHead parses a request head (RFC 9112 §2-§5): optional empty
// lines, the request line "METHOD SP request-target SP HTTP/1.x", header
// fields "name: value", an empty line; anything after it is ignored. It
// returns the status to answer: 200 for a well-formed GET or HEAD, 405
// for another method, 505 for another HTTP major version and 400 for
// anything malformed. req.method is set whenever the request line parses.
func parseRequestHead(b []byte) (req requestHead, status int) {
	line, rest, ok := cutLine(b)
	for ok && len(line) == 0 {
		line, rest, ok = cutLine(rest)
	}
	if !ok {
		return req, 400
	}
	method, line, ok1 := bytes.Cut(line, []byte{' '})
	target, version, ok2 := bytes.Cut(line, []byte{' '})
	if !ok1 || !ok2 || !isToken(method) || !isTarget(target) ||
		len(version) != 8 || string(version[:5]) != "HTTP/" ||
		!isDigit(version[5]) || version[6] != '.' || !isDigit(version[7]) {
		return req, 400
	}
	req.method, req.target = string(method), string(target)
	if version[5] != '1' {
		return req, 505
	}
	req.minor = int(version[7] - '0')
	hosts := 0
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return req, 400 // no empty line
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		// A name must be a token: this also rejects whitespace before
		// the colon (RFC 9112 §5.1) and obsolete line folding (§5.2).
		if !ok || !isToken(name) || !isFieldValue(value) {
			return req, 400
		}
		if asciiEqualFold(name, "host") {
			hosts++
		}
	}
	// RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one before.
	if hosts > 1 || (hosts == 0 && req.minor >= 1) {
		return req, 400
	}
	if req.method != "GET" && req.method != "HEAD" {
		return req, 405
	}
	return req, 200
}

// cutLine cuts the first line off b, without its LF or CRLF; ok is false
// if b has no LF. A bare CR is left in line, where the callers reject it.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, nil, false
	}
	line, rest = b[:i], b[i+1:]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, rest, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isToken reports whether b is a token (RFC 9110 §5.6.2).
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', isDigit(c):
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isTarget reports whether b can be a request-target: visible ASCII, no
// whitespace. The path itself is not interpreted.
func isTarget(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// isFieldValue reports whether b (with its surrounding whitespace) is a
// valid field value: no control characters but HTAB (RFC 9110 §5.5
// rejects CR, LF and NUL; we reject the other controls too).
func isFieldValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// asciiEqualFold reports whether b equals the lower-case ASCII s,
// ignoring case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
