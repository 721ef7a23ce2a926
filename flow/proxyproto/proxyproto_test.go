package proxyproto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"
)

// Golden headers: the bytes on the wire and what they mean. The v2 bytes
// follow proxy-protocol.txt §2.2 field by field; the CRC32c one was
// computed with the Castagnoli polynomial over the header with the
// checksum zeroed (RFC 3720 §B.4 check value: crc32c("123456789") =
// 0xe3069283, checked in TestCRC32cTable).
var golden = []struct {
	name string
	wire string // v1 text, or "hex:" + v2 bytes
	h    Header
}{
	{"v1 tcp4", "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n", Header{Version: 1, Command: Proxy, Transport: TCP,
		Source: ap("192.0.2.1:56324"), Dest: ap("198.51.100.7:443")}},
	{"v1 tcp6", "PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n", Header{Version: 1, Command: Proxy, Transport: TCP,
		Source: ap("[2001:db8::1]:65535"), Dest: ap("[2001:db8::2]:0")}},
	{"v1 unknown", "PROXY UNKNOWN\r\n", Header{Version: 1, Command: Proxy}},
	{"v2 tcp4", "hex:0d0a0d0a000d0a515549540a" + "21" + "11" + "000c" + "c0000201" + "c6336407" + "dc04" + "01bb",
		Header{Version: 2, Command: Proxy, Transport: TCP, Source: ap("192.0.2.1:56324"), Dest: ap("198.51.100.7:443")}},
	{"v2 tcp6", "hex:0d0a0d0a000d0a515549540a" + "21" + "21" + "0024" +
		"20010db8000000000000000000000001" + "20010db8000000000000000000000002" + "ffff" + "0050",
		Header{Version: 2, Command: Proxy, Transport: TCP, Source: ap("[2001:db8::1]:65535"), Dest: ap("[2001:db8::2]:80")}},
	{"v2 local", "hex:0d0a0d0a000d0a515549540a" + "20" + "00" + "0000", Header{Version: 2, Command: Local}},
	{"v2 udp4 with tlvs", "hex:0d0a0d0a000d0a515549540a" + "21" + "12" + "0017" + "0a000001" + "0a000002" + "0035" + "0035" +
		"02" + "0004" + "61626364" + "04" + "0001" + "00",
		Header{Version: 2, Command: Proxy, Transport: UDP, Source: ap("10.0.0.1:53"), Dest: ap("10.0.0.2:53"),
			TLVs: []TLV{{TypeAuthority, []byte("abcd")}, {TypeNOOP, []byte{0}}}}},
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func wire(s string) []byte {
	if hx, ok := strings.CutPrefix(s, "hex:"); ok {
		b, err := hex.DecodeString(hx)
		if err != nil {
			panic(err)
		}
		return b
	}
	return []byte(s)
}

func equal(a, b Header) bool {
	if a.Version != b.Version || a.Command != b.Command || a.Transport != b.Transport || a.Source != b.Source ||
		a.Dest != b.Dest || len(a.TLVs) != len(b.TLVs) {
		return false
	}
	for i := range a.TLVs {
		if a.TLVs[i].Type != b.TLVs[i].Type || !bytes.Equal(a.TLVs[i].Value, b.TLVs[i].Value) {
			return false
		}
	}
	return true
}

func TestGoldenParse(t *testing.T) {
	for _, g := range golden {
		b := append(wire(g.wire), "GET / HTTP/1.1\r\n"...)
		h, n, err := Parse(b, 0)
		if err != nil || n != len(wire(g.wire)) || !equal(h, g.h) {
			t.Errorf("%s: Parse = %+v, %d, %v; want %+v, %d", g.name, h, n, err, g.h, len(wire(g.wire)))
		}
		// Every proper prefix is incomplete, never an error.
		w := wire(g.wire)
		for i := range len(w) {
			if _, _, err := Parse(w[:i], 0); !errors.Is(err, ErrIncomplete) {
				t.Errorf("%s: prefix of %d bytes: %v, want ErrIncomplete", g.name, i, err)
				break
			}
		}
	}
}

func TestGoldenAppend(t *testing.T) {
	for _, g := range golden {
		var got []byte
		switch {
		case g.h.Version == 1:
			got = g.h.AppendV1(nil)
		default:
			got = g.h.AppendV2(nil)
		}
		if want := wire(g.wire); !bytes.Equal(got, want) {
			t.Errorf("%s: Append = %q, want %q", g.name, got, want)
		}
	}
	// A v1 header cannot say LOCAL or UDP: it says UNKNOWN.
	for _, h := range []Header{{Command: Local}, {Command: Proxy, Transport: UDP, Source: ap("10.0.0.1:1"), Dest: ap("10.0.0.2:2")}} {
		if got := h.AppendV1(nil); string(got) != "PROXY UNKNOWN\r\n" {
			t.Errorf("AppendV1(%+v) = %q", h, got)
		}
	}
	// Mixed families are written as IPv6, IPv4-mapped.
	h := Header{Command: Proxy, Transport: TCP, Source: ap("192.0.2.1:1"), Dest: ap("[2001:db8::2]:2")}
	if got := string(h.AppendV1(nil)); got != "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1 2\r\n" {
		t.Errorf("mixed v1 = %q", got)
	}
	back, _, err := Parse(h.AppendV2(nil), 0)
	if err != nil || back.Source.Addr().Unmap() != h.Source.Addr() {
		t.Errorf("mixed v2 round trip: %+v, %v", back, err)
	}
}

func TestCRC32c(t *testing.T) {
	h := Header{Command: Proxy, Transport: TCP, Source: ap("192.0.2.1:1000"), Dest: ap("192.0.2.2:80"),
		TLVs: []TLV{{TypeCRC32C, []byte{0, 0, 0, 0}}}}
	b := h.AppendV2(nil)
	// Fill the checksum in as a sender would.
	at := len(b) - 4
	sum := crc32cOf(b)
	b[at], b[at+1], b[at+2], b[at+3] = byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)
	if _, _, err := Parse(b, 0); err != nil {
		t.Fatalf("good CRC32c refused: %v", err)
	}
	b[20] ^= 1 // a source address bit
	if _, _, err := Parse(b, 0); err == nil || !strings.Contains(err.Error(), "CRC32c") {
		t.Fatalf("bad CRC32c: %v", err)
	}
}

func crc32cOf(b []byte) uint32 {
	// The reference bit-by-bit CRC32c (RFC 3720 §B.4), independent of
	// hash/crc32.
	crc := ^uint32(0)
	for _, c := range b {
		crc ^= uint32(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x82f63b78
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

func TestCRC32cTable(t *testing.T) {
	if got := crc32cOf([]byte("123456789")); got != 0xe3069283 {
		t.Fatalf("reference crc32c = %#x", got)
	}
}

// Hostile and malformed headers: each is refused with an *Error (never
// ErrIncomplete once the fault is visible), and never panics.
func TestMalformed(t *testing.T) {
	v2 := func(verCmd, fam string, length string, rest string) string {
		return "hex:0d0a0d0a000d0a515549540a" + verCmd + fam + length + rest
	}
	for _, tc := range []struct{ name, wire string }{
		{"garbage", "GET / HTTP/1.1\r\n"},
		{"lowercase", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"},
		{"bad protocol", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"},
		{"bad protocol early", "PROXY X"},
		{"double space", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"},
		{"trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"},
		{"missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"},
		{"port too big", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"},
		{"leading zero port", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"},
		{"signed port", "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"},
		{"leading zero octet", "PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n"},
		{"v6 in TCP4", "PROXY TCP4 ::1 ::2 1 2\r\n"},
		{"v4 in TCP6", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"},
		{"zone", "PROXY TCP6 fe80::1%eth0 fe80::2 1 2\r\n"},
		{"bare LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"},
		{"NUL", "PROXY TCP4 1.2.3.4\x00 5.6.7.8 1 2\r\n"},
		{"no CRLF in 107", "PROXY UNKNOWN " + strings.Repeat("x", 100)},
		{"v2 version 1", v2("11", "11", "000c", "")},
		{"v2 command 2", v2("22", "11", "000c", "")},
		{"v2 family 4", v2("21", "41", "000c", "")},
		{"v2 transport 3", v2("21", "13", "000c", "")},
		{"v2 short address", v2("21", "11", "0008", "0102030405060708")},
		{"v2 too long", v2("21", "11", "ffff", "")},
		{"v2 TLV past end", v2("21", "11", "000f", "c0000201c6336407dc0401bb"+"0200ff")},
		{"v2 trailing bytes", v2("21", "11", "000e", "c0000201c6336407dc0401bb"+"0200")},
		{"v2 CRC wrong size", v2("21", "11", "0011", "c0000201c6336407dc0401bb"+"030002"+"0000")},
		{"v2 bad signature", "hex:0d0a0d0a000d0a515549540b2111000c"},
	} {
		b := wire(tc.wire)
		_, _, err := Parse(b, 0)
		var perr *Error
		if !errors.As(err, &perr) {
			t.Errorf("%s: Parse = %v, want an *Error", tc.name, err)
		}
	}
}

func TestBound(t *testing.T) {
	h := Header{Command: Proxy, Transport: TCP, Source: ap("192.0.2.1:1"), Dest: ap("192.0.2.2:2"),
		TLVs: []TLV{{TypeUniqueID, make([]byte, 200)}}}
	b := h.AppendV2(nil)
	if _, _, err := Parse(b, len(b)); err != nil {
		t.Fatalf("at the bound: %v", err)
	}
	// Refused as soon as the length field is seen, before the rest.
	if _, _, err := Parse(b[:16], len(b)-1); err == nil || errors.Is(err, ErrIncomplete) {
		t.Fatalf("over the bound: %v", err)
	}
}

func TestRead(t *testing.T) {
	stream := "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nhello"
	// One byte at a time: Read must still stop at the header, keeping
	// what it read past it.
	h, rest, err := Read(iotest.OneByteReader(strings.NewReader(stream)), 0)
	if err != nil || h.Source != ap("192.0.2.1:56324") {
		t.Fatalf("Read = %+v, %v", h, err)
	}
	more, _ := io.ReadAll(strings.NewReader(stream[len(stream)-5+len(rest):]))
	if got := string(rest) + string(more); got != "hello" {
		t.Fatalf("stream after the header = %q", got)
	}
	h2 := Header{Command: Proxy, Transport: TCP, Source: ap("[2001:db8::1]:1"), Dest: ap("[2001:db8::2]:2")}
	all := append(h2.AppendV2(nil), "data"...)
	h, rest, err = Read(bytes.NewReader(all), 0)
	if err != nil || h.Source != h2.Source || string(rest) != "data" {
		t.Fatalf("Read v2 = %+v, %q, %v", h, rest, err)
	}
	if _, _, err := Read(strings.NewReader("PROXY TCP4 1.2"), 0); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated: %v", err)
	}
	if _, _, err := Read(strings.NewReader(""), 0); err != io.EOF {
		t.Fatalf("empty: %v", err)
	}
	if _, _, err := Read(strings.NewReader("SSH-2.0-x\r\n"), 0); !errors.Is(err, ErrNotProxy) {
		t.Fatalf("not a header: %v", err)
	}
}
