package sntp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// chronyReply is chrony 4.3's answer (Debian 12, `local stratum 8`, no
// upstream) to a request whose transmit timestamp was the nonce
// 0x0123456789abcdef, captured on the wire.
const chronyReply = "240800e700000000000000007f7f0101eec1f026d6d57740" +
	"0123456789abcdef" + "eec1f0289b5990c1" + "eec1f0289b5eef16"

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The golden reply decodes to the fields chrony set, and those fields
// encode back to the same bytes.
func TestGoldenChronyReply(t *testing.T) {
	b := mustHex(t, chronyReply)
	p, err := ParsePacket(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Fields{
		Leap: LeapNone, Version: 4, Mode: ModeServer, Stratum: 8, Poll: 0, Precision: -25,
		RefID:     [4]byte{127, 127, 1, 1},
		Reference: 0xeec1f026d6d57740, Origin: 0x0123456789abcdef,
		Receive: 0xeec1f0289b5990c1, Transmit: 0xeec1f0289b5eef16,
	}
	got := p.Fields()
	if got != want {
		t.Fatalf("fields\n got %+v\nwant %+v", got, want)
	}
	// 0xeec1f028 s after 1900 is 2026-12-08 02:55:36 UTC; 0x9b5990c1/2^32 s is 0.606835410
	if tm := p.Receive().Time(); tm.Format(time.RFC3339) != "2026-12-08T02:55:36Z" || tm.Nanosecond() != 606835410 {
		t.Fatalf("receive time %v (%d ns)", tm, tm.Nanosecond())
	}
	out := make([]byte, want.Len())
	if n, err := want.Encode(out); err != nil || n != HeaderLen || !bytes.Equal(out, b) {
		t.Fatalf("Encode = %d, %v\n% x\nwant\n% x", n, err, out, b)
	}
}

// Our request: LI 0, VN 4, mode 3, everything zero but the nonce.
func TestGoldenRequest(t *testing.T) {
	f := Fields{Version: Version, Mode: ModeClient, Transmit: 0x0123456789abcdef}
	b := make([]byte, 64)
	n, err := f.Encode(b)
	want := mustHex(t, "23"+string(bytes.Repeat([]byte("00"), 39))+"0123456789abcdef")
	if err != nil || n != HeaderLen || !bytes.Equal(b[:n], want) {
		t.Fatalf("Encode = %d, %v: % x", n, err, b[:n])
	}
	if _, err := f.Encode(b[:47]); !errors.Is(err, inet.ErrBufTooSmall) {
		t.Fatalf("short buffer: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	good := mustHex(t, chronyReply)
	for _, tc := range []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrShort},
		{"47 bytes", good[:47], ErrShort},
		{"version 0", append([]byte{0x04}, good[1:]...), ErrVersion},
		{"version 5", append([]byte{0x2c}, good[1:]...), ErrVersion},
		{"version 7", append([]byte{0x3c}, good[1:]...), ErrVersion},
	} {
		if _, err := ParsePacket(tc.b); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	// A MAC or extension fields after the header are allowed (ignored).
	if p, err := ParsePacket(append(good, make([]byte, 20)...)); err != nil || p.Stratum() != 8 {
		t.Fatalf("with a trailing MAC: %v", err)
	}
	// Versions 1 to 3 parse (RFC 4330 §5: servers answer them).
	for _, v := range []byte{1, 2, 3} {
		b := append([]byte{v<<3 | 4}, good[1:]...)
		if p, err := ParsePacket(b); err != nil || p.Version() != v {
			t.Fatalf("version %d: %v", v, err)
		}
	}
}

// RFC 4330 §3's era rule and round trips through time.Time.
func TestTimestampEras(t *testing.T) {
	for _, tc := range []struct {
		ts   Timestamp
		want string
	}{
		{0x80000000 << 32, "1968-01-20T03:14:08Z"},
		{0xffffffff << 32, "2036-02-07T06:28:15Z"},
		{0x00000000<<32 | 1<<31, "2036-02-07T06:28:16.5Z"}, // era 1 starts
		{0x7fffffff << 32, "2104-02-26T09:42:23Z"},
		{uint64ToTS(2208988800), "1970-01-01T00:00:00Z"},
	} {
		if got := tc.ts.Time().Format(time.RFC3339Nano); got != tc.want {
			t.Errorf("%#x: %s, want %s", uint64(tc.ts), got, tc.want)
		}
		if back := TimestampOf(tc.ts.Time()); back != tc.ts {
			t.Errorf("%#x: round trip %#x", uint64(tc.ts), uint64(back))
		}
	}
	if !Timestamp(0).Time().IsZero() {
		t.Error("timestamp 0 is not the zero time")
	}
	// Nanosecond precision survives a round trip (2^-32 s is 0.23 ns).
	tm := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	if got := TimestampOf(tm).Time(); !got.Equal(tm) {
		t.Errorf("round trip of %v: %v", tm, got)
	}
	if TimestampOf(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Hour)) != 0 {
		t.Error("a time before the era did not clamp to 0")
	}
}

func uint64ToTS(sec uint64) Timestamp { return Timestamp(sec << 32) }

func TestShort(t *testing.T) {
	for _, tc := range []struct {
		s Short
		d time.Duration
	}{
		{0, 0},
		{1 << 16, time.Second},
		{1 << 15, 500 * time.Millisecond},
		{0x00010001, time.Second + 15259*time.Nanosecond},
	} {
		if got := tc.s.Duration(); got != tc.d {
			t.Errorf("%#x: %v, want %v", uint32(tc.s), got, tc.d)
		}
		if got := ShortOf(tc.d); got != tc.s {
			t.Errorf("ShortOf(%v) = %#x, want %#x", tc.d, uint32(got), uint32(tc.s))
		}
	}
	if ShortOf(-time.Second) != 0 || ShortOf(100000*time.Second) != 0xffffffff {
		t.Error("ShortOf does not clamp")
	}
}

// FuzzParsePacket: parsing never panics, and whatever parses re-encodes
// to its own first 48 bytes.
func FuzzParsePacket(f *testing.F) {
	f.Add(mustHexF(chronyReply))
	f.Add(mustHexF("23" + string(bytes.Repeat([]byte("00"), 39)) + "0123456789abcdef"))
	f.Add([]byte{0x24})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePacket(b)
		if err != nil {
			return
		}
		fl := p.Fields()
		out := make([]byte, fl.Len())
		if _, err := fl.Encode(out); err != nil || !bytes.Equal(out, b[:HeaderLen]) {
			t.Fatalf("re-encoding differs: % x", out)
		}
		_ = p.Transmit().Time()
		_ = p.RootDelay().Duration()
	})
}

func mustHexF(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
