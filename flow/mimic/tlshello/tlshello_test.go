package tlshello

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// goHello returns the ClientHello record(s) crypto/tls sends for name.
func goHello(t testing.TB, name string, alpn ...string) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		tc := tls.Client(c, &tls.Config{ServerName: name, NextProtos: alpn, InsecureSkipVerify: name == ""})
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		tc.Handshake() // fails when s closes; only its first flight matters
		c.Close()
	}()
	s.SetDeadline(time.Now().Add(5 * time.Second))
	_, b, err := Read(s, 0)
	if err != nil {
		t.Fatalf("reading crypto/tls's ClientHello: %v", err)
	}
	return b
}

func TestGoClientHello(t *testing.T) {
	b := goHello(t, "Web.Example.ORG", "h2", "http/1.1")
	h, n, err := Parse(b, 0)
	if err != nil || n != len(b) || h.ServerName != "web.example.org" || len(h.ALPN) != 2 || h.ALPN[0] != "h2" {
		t.Fatalf("Parse = %+v, %d, %v", h, n, err)
	}
	// Without a name (an IP literal target): no server_name.
	h, _, err = Parse(goHello(t, ""), 0)
	if err != nil || h.ServerName != "" {
		t.Fatalf("no SNI: %+v, %v", h, err)
	}
}

// fragment re-cuts the handshake bytes of the records in b into records
// of at most size bytes (RFC 8446 §5.1 allows it).
func fragment(b []byte, size int) []byte {
	var msg []byte
	for len(b) >= 5 {
		n := int(binary.BigEndian.Uint16(b[3:5]))
		msg = append(msg, b[5:5+n]...)
		b = b[5+n:]
	}
	var out []byte
	for len(msg) > 0 {
		k := min(size, len(msg))
		out = append(out, 22, 3, 1, byte(k>>8), byte(k))
		out = append(out, msg[:k]...)
		msg = msg[k:]
	}
	return out
}

func TestFragmented(t *testing.T) {
	whole := unhex(rfc8448ClientHello)
	for _, size := range []int{1, 7, 100} {
		b := fragment(whole, size)
		h, n, err := Parse(b, 0)
		if err != nil || n != len(b) || h.ServerName != "server" {
			t.Fatalf("fragments of %d: %+v, %d, %v", size, h, n, err)
		}
		// Read one byte at a time stops at the end of the hello.
		h, got, err := Read(iotest.OneByteReader(bytes.NewReader(append(b, "early data"...))), 0)
		if err != nil || h.ServerName != "server" || !bytes.Equal(got, b) {
			t.Fatalf("Read fragments of %d: %+v, %d bytes, %v", size, h, len(got), err)
		}
	}
	// Every proper prefix is incomplete, never an error.
	b := fragment(whole, 50)
	for i := range len(b) {
		if _, _, err := Parse(b[:i], 0); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("prefix of %d: %v", i, err)
		}
	}
}

// helloWith builds a ClientHello record with the given extensions block
// (nil: none at all).
func helloWith(exts []byte) []byte {
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0)                // session id
	body = append(body, 0, 2, 0x13, 0x01) // one suite
	body = append(body, 1, 0)             // null compression
	if exts != nil {
		body = binary.BigEndian.AppendUint16(body, uint16(len(exts)))
		body = append(body, exts...)
	}
	msg := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{22, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

func ext(typ int, data []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(typ))
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

func sni(names ...string) []byte {
	var list []byte
	for _, n := range names {
		list = append(list, 0)
		list = binary.BigEndian.AppendUint16(list, uint16(len(n)))
		list = append(list, n...)
	}
	return ext(0, append(binary.BigEndian.AppendUint16(nil, uint16(len(list))), list...))
}

func TestBuilt(t *testing.T) {
	if h, _, err := Parse(helloWith(sni("a.example")), 0); err != nil || h.ServerName != "a.example" {
		t.Fatalf("built hello: %+v, %v", h, err)
	}
	if h, _, err := Parse(helloWith(nil), 0); err != nil || h.ServerName != "" {
		t.Fatalf("hello without extensions: %+v, %v", h, err)
	}
}

// Hostile ClientHellos are refused with an *Error.
func TestMalformed(t *testing.T) {
	good := helloWith(sni("a.example"))
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"http", []byte("GET / HTTP/1.1\r\n\r\n")},
		{"ssl2", []byte{0x80, 0x2e, 0x01, 0x03, 0x01}},
		{"alert record", []byte{21, 3, 3, 0, 2, 2, 40}},
		{"version 4.x", mutate(func(b []byte) []byte { b[1] = 4; return b })},
		{"empty record", []byte{22, 3, 1, 0, 0}},
		{"record over 2^14", []byte{22, 3, 1, 0x40, 0x01}},
		{"server_hello", mutate(func(b []byte) []byte { b[5] = 2; return b })},
		{"bad legacy_version", mutate(func(b []byte) []byte { b[9] = 2; return b })},
		{"session id 33", mutate(func(b []byte) []byte { b[43] = 33; return b })},
		{"odd suites", helloOddSuites()},
		{"two server_names", helloWith(append(sni("a.example"), sni("b.example")...))},
		{"two host_names", helloWith(sni("a.example", "b.example"))},
		{"trailing dot", helloWith(sni("a.example."))},
		{"empty label", helloWith(sni("a..example"))},
		{"NUL in name", helloWith(sni("a\x00.example"))},
		{"space in name", helloWith(sni("a example"))},
		{"label of 64", helloWith(sni(strings.Repeat("a", 64) + ".example"))},
		{"extension overrun", helloWith([]byte{0, 0, 0, 9, 0})},
		{"server_name list overrun", helloWith(ext(0, []byte{0, 9, 0, 0, 1, 'a'}))},
		{"bytes after extensions", mutate(func(b []byte) []byte {
			b = append(b, 0)
			b[4]++
			b[8]++
			return b
		})},
		{"record type changes mid-hello", append(fragment(good, 10)[:15], 23, 3, 3, 0, 1, 0)},
	} {
		_, _, err := Parse(tc.b, 0)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: Parse = %v, want an *Error", tc.name, err)
		}
	}
}

func helloOddSuites() []byte {
	b := helloWith(nil)
	// cipher_suites length 2 -> 3, and every enclosing length + 1.
	b = append(b[:46], append([]byte{0, 3, 0x13, 0x01, 0x02}, b[48+2:]...)...)
	b[4]++
	b[8]++
	return b
}

func TestBound(t *testing.T) {
	big := helloWith(ext(21, make([]byte, 3000))) // padding extension
	if _, _, err := Parse(big, 4000); err != nil {
		t.Fatalf("under the bound: %v", err)
	}
	// Refused on the handshake header, before the rest arrives.
	if _, _, err := Parse(big[:12], 2000); err == nil || errors.Is(err, ErrIncomplete) {
		t.Fatalf("over the bound: %v", err)
	}
	// Tiny fragments of a hello under the bound still hit the record
	// bound.
	if _, _, err := Parse(fragment(big, 1), 4000); err == nil || errors.Is(err, ErrIncomplete) {
		t.Fatalf("3000 one-byte records: %v", err)
	}
}

func TestReadEOF(t *testing.T) {
	b := unhex(rfc8448ClientHello)
	if _, _, err := Read(bytes.NewReader(b[:100]), 0); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated: %v", err)
	}
	if _, _, err := Read(bytes.NewReader(nil), 0); err != io.EOF {
		t.Fatalf("empty: %v", err)
	}
}
