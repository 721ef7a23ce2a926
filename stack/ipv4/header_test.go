package ipv4

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/mirago/mirago/stack/inet"
)

// goldenUDP is the well-known header from RFC 1071-style worked examples
// (192.168.0.1 -> 192.168.0.199, UDP, DF, checksum 0xb861).
var goldenUDP = mustHex("45000073000040004011b861c0a80001c0a800c7")

// goldenPing is a Linux ping (iputils) echo request 10.0.2.2 -> 10.0.2.15,
// 56 data bytes, id 0x2a seq 1; checksums computed independently.
var goldenPing = mustHex("45000054a6f2400040017ba60a0002020a00020f0800c097002a0001" +
	"6b1f5c6700000000a3e30d0000000000101112131415161718191a1b1c1d1e1f" +
	"202122232425262728292a2b2c2d2e2f3031323334353637")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestGoldenParse(t *testing.T) {
	b := append(append([]byte{}, goldenUDP...), make([]byte, 0x73-20)...)
	h, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if !h.ValidChecksum() {
		t.Error("checksum invalid")
	}
	check := []struct {
		name      string
		got, want any
	}{
		{"HeaderLen", h.HeaderLen(), 20},
		{"TOS", h.TOS(), uint8(0)},
		{"TotalLen", h.TotalLen(), uint16(0x73)},
		{"ID", h.ID(), uint16(0)},
		{"Flags", h.Flags(), uint8(2)},
		{"DF", h.DF(), true},
		{"MF", h.MF(), false},
		{"FragOffset", h.FragOffset(), 0},
		{"TTL", h.TTL(), uint8(64)},
		{"Protocol", h.Protocol(), uint8(17)},
		{"Checksum", h.Checksum(), uint16(0xb861)},
		{"Src", h.Src(), inet.MustParseAddr4("192.168.0.1")},
		{"Dst", h.Dst(), inet.MustParseAddr4("192.168.0.199")},
		{"Options", len(h.Options()), 0},
		{"Payload", len(h.Payload()), 0x73 - 20},
	}
	for _, c := range check {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestGoldenEncode(t *testing.T) {
	b := make([]byte, 20)
	_, err := (&Fields{TotalLen: 0x73, DF: true, TTL: 64, Protocol: 17,
		Src: inet.MustParseAddr4("192.168.0.1"), Dst: inet.MustParseAddr4("192.168.0.199")}).Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, goldenUDP) {
		t.Errorf("Encode = %x, want %x", b, goldenUDP)
	}
	b = make([]byte, 20)
	(&Fields{TotalLen: 84, ID: 0xa6f2, DF: true, TTL: 64, Protocol: 1, Src: peerAddr, Dst: ourAddr}).Encode(b)
	if !bytes.Equal(b, goldenPing[:20]) {
		t.Errorf("Encode ping = %x, want %x", b, goldenPing[:20])
	}
}

func TestEncodeFragmentAndOptions(t *testing.T) {
	b := make([]byte, 24)
	opts := []byte{OptNOP, OptRR, 3, 4} // record route with no room
	if n, err := (&Fields{TotalLen: 100, ID: 9, MF: true, FragOffset: 1480, TTL: 1, Protocol: 6, Options: opts}).Encode(b); err != nil || n != 24 {
		t.Fatal(err)
	}
	h := Header(b)
	if h.HeaderLen() != 24 || !h.MF() || h.DF() || h.FragOffset() != 1480 || !h.IsFragment() || !bytes.Equal(h.Options(), opts) || !h.ValidChecksum() {
		t.Errorf("bad encode: %x", b)
	}
	if _, err := (&Fields{}).Encode(make([]byte, 19)); err != inet.ErrBufTooSmall {
		t.Error("short buffer accepted")
	}
	if _, err := (&Fields{Options: []byte{1}}).Encode(b); err != ErrIHL {
		t.Error("unaligned options accepted")
	}
}

func TestParseHeaderErrors(t *testing.T) {
	good := datagram(Fields{Protocol: 17, Src: peerAddr, Dst: ourAddr}, []byte("abcd"))
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrShort},
		{"19 bytes", good[:19], ErrShort},
		{"version 6", mod(func(b []byte) []byte { b[0] = 0x65; return b }), ErrVersion},
		{"IHL 4", mod(func(b []byte) []byte { b[0] = 0x44; return b }), ErrIHL},
		{"IHL past data", mod(func(b []byte) []byte { b[0] = 0x47; return b }), ErrIHL},
		{"total < IHL", mod(func(b []byte) []byte { b[3] = 19; return b }), ErrLength},
		{"total > received", mod(func(b []byte) []byte { b[3] = 25; return b }), ErrLength},
	}
	for _, tc := range tests {
		if _, err := ParseHeader(tc.b); err != tc.err {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.err)
		}
	}
	// Ethernet padding is trimmed.
	h, err := ParseHeader(append(bytes.Clone(good), 0, 0, 0, 0))
	if err != nil || len(h) != len(good) || string(h.Payload()) != "abcd" {
		t.Errorf("padding: %v %x", err, h)
	}
}

func TestParseQuoted(t *testing.T) {
	d := datagram(Fields{Protocol: 6, Src: ourAddr, Dst: farAddr}, seq(100))
	h, err := ParseQuoted(d[:28])
	if err != nil || len(h.Payload()) != 8 || h.TotalLen() != 120 {
		t.Fatalf("truncated: %v %d", err, len(h))
	}
	if _, err := ParseQuoted(d[:19]); err != ErrShort {
		t.Errorf("19 bytes: %v", err)
	}
	if h, _ := ParseQuoted(append(d, 1, 2, 3)); len(h) != len(d) {
		t.Errorf("not trimmed to total length: %d", len(h))
	}
}

func TestOptionIter(t *testing.T) {
	tests := []struct {
		name string
		opts []byte
		sr   bool
		bad  bool
	}{
		{"nop eol", []byte{1, 1, 0, 0}, false, false},
		{"record route", []byte{7, 7, 4, 0, 0, 0, 0, 0}, false, false},
		{"timestamp", []byte{68, 4, 5, 0}, false, false},
		{"lsrr", []byte{131, 7, 4, 1, 2, 3, 4, 0}, true, false},
		{"ssrr", []byte{1, 137, 7, 4, 1, 2, 3, 4}, true, false},
		{"len 0", []byte{7, 0, 0, 0}, false, true},
		{"len 1", []byte{7, 1, 0, 0}, false, true},
		{"len past end", []byte{7, 9, 0, 0}, false, true},
		{"no length octet", []byte{1, 1, 1, 7}, false, true},
		{"after eol ignored", []byte{0, 7, 0, 0}, false, false},
	}
	for _, tc := range tests {
		sr, err := checkOptions(tc.opts)
		if sr != tc.sr || (err != nil) != tc.bad {
			t.Errorf("%s: sr %v err %v", tc.name, sr, err)
		}
	}
	it := Iter([]byte{1, 7, 3, 9, 68, 2})
	var types []uint8
	for {
		typ, data, ok := it.Next()
		if !ok {
			break
		}
		types = append(types, typ)
		if typ == 7 && !bytes.Equal(data, []byte{9}) {
			t.Errorf("rr data %x", data)
		}
	}
	if len(types) != 2 || it.Err() != nil {
		t.Errorf("types %v err %v", types, it.Err())
	}
}
