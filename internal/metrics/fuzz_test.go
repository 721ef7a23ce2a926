package metrics

import (
	"bytes"
	"io"
	"testing"
)

// oneByteReader returns its data one byte per Read, then io.EOF.
type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0], r.b = r.b[0], r.b[1:]
	return 1, nil
}

// FuzzParseRequestHead feeds arbitrary bytes to the head scanner and the
// request-head parser (seeds in testdata/fuzz/FuzzParseRequestHead). They
// must not panic; scanning byte by byte, scanning at once and readHead
// must agree on where the head ends; and the parser's verdict must be one
// of the statuses the responder sends, consistent with what it returns.
func FuzzParseRequestHead(f *testing.F) {
	f.Add([]byte("GET /metrics HTTP/1.1\r\nHost: 10.0.0.1:9100\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var whole headScanner
		end := whole.scan(b)
		if end < 0 || end > len(b) {
			t.Fatalf("end %d of %d bytes", end, len(b))
		}
		var inc headScanner
		incEnd := 0
		for i := 0; i <= len(b) && incEnd == 0; i++ {
			incEnd = inc.scan(b[:i])
		}
		if incEnd != end {
			t.Fatalf("byte by byte: end %d, at once: %d", incEnd, end)
		}
		if end > 0 && !bytes.HasSuffix(b[:end], []byte("\n")) {
			t.Fatalf("head %q does not end with LF", b[:end])
		}

		buf := make([]byte, maxHeadBytes)
		n, rEnd, err := readHead(&oneByteReader{b}, buf)
		switch {
		case end > 0 && end <= maxHeadBytes:
			if rEnd != end || n != end || err != nil {
				t.Fatalf("readHead: n %d end %d err %v; want end %d", n, rEnd, err, end)
			}
		case len(b) >= maxHeadBytes:
			if rEnd != 0 || n != maxHeadBytes {
				t.Fatalf("readHead of an oversized head: n %d end %d err %v", n, rEnd, err)
			}
		default:
			if rEnd != 0 || n != len(b) || err != io.EOF {
				t.Fatalf("readHead of an incomplete head: n %d end %d err %v", n, rEnd, err)
			}
		}

		head := b
		if end > 0 {
			head = b[:end]
		}
		req, status := parseRequestHead(head)
		switch status {
		case 200, 405:
			if end == 0 {
				t.Fatalf("status %d for an incomplete head %q", status, b)
			}
			if (status == 200) != (req.method == "GET" || req.method == "HEAD") {
				t.Fatalf("status %d for method %q", status, req.method)
			}
			if !isToken([]byte(req.method)) || !isTarget([]byte(req.target)) || req.minor < 0 || req.minor > 9 {
				t.Fatalf("accepted %+v", req)
			}
			line := req.method + " " + req.target + " HTTP/1."
			if !bytes.Contains(head, []byte(line)) {
				t.Fatalf("request line %q not in %q", line, head)
			}
		case 400, 505:
		default:
			t.Fatalf("status %d", status)
		}
		// Parsing is a function of the head alone: what follows it does
		// not matter.
		if end > 0 {
			if req2, status2 := parseRequestHead(b); req2 != req || status2 != status {
				t.Fatalf("with the rest: %+v %d, head alone: %+v %d", req2, status2, req, status)
			}
		}
		resp := errorResponse(max(status, 400), req.method == "HEAD")
		if !bytes.HasPrefix(resp, []byte("HTTP/1.1 ")) || !bytes.Contains(resp, []byte("\r\n\r\n")) {
			t.Fatalf("response %q", resp)
		}
	})
}
