package ndp

import "testing"

func TestParseRejects(t *testing.T) {
	ns := func(typ, code byte, n int, opt ...byte) []byte {
		b := make([]byte, n)
		b[0], b[1] = typ, code
		return append(b, opt...)
	}
	for _, tc := range []struct {
		name  string
		parse func([]byte) error
		b     []byte
		want  error
	}{
		{"empty", func(b []byte) error { _, err := ParseNS(b); return err }, nil, ErrShort},
		{"NS short", func(b []byte) error { _, err := ParseNS(b); return err }, ns(135, 0, 23), ErrShort},
		{"NS as NA", func(b []byte) error { _, err := ParseNA(b); return err }, ns(135, 0, 24), ErrType},
		{"NS code 1", func(b []byte) error { _, err := ParseNS(b); return err }, ns(135, 1, 24), ErrCode},
		{"option length 0", func(b []byte) error { _, err := ParseNS(b); return err }, ns(135, 0, 24, 1, 0, 0, 0, 0, 0, 0, 0), ErrOptionLen},
		{"option past the end", func(b []byte) error { _, err := ParseNS(b); return err }, ns(135, 0, 24, 1, 2, 0, 0, 0, 0, 0, 0), ErrOptionLen},
		{"option of one byte", func(b []byte) error { _, err := ParseNS(b); return err }, ns(135, 0, 24, 1), ErrOptionLen},
		{"RS short", func(b []byte) error { _, err := ParseRS(b); return err }, ns(133, 0, 7), ErrShort},
		{"RA short", func(b []byte) error { _, err := ParseRA(b); return err }, ns(134, 0, 15), ErrShort},
		{"NA short", func(b []byte) error { _, err := ParseNA(b); return err }, ns(136, 0, 23), ErrShort},
		{"redirect short", func(b []byte) error { _, err := ParseRedirect(b); return err }, ns(137, 0, 39), ErrShort},
		{"redirect code", func(b []byte) error { _, err := ParseRedirect(b); return err }, ns(137, 9, 40), ErrCode},
	} {
		if err := tc.parse(tc.b); err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestOptionViewsReject(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
		err  func(Option) error
		o    []byte
	}{
		{"SLLA of 16 bytes", false, func(o Option) error { _, err := ParseLinkAddr(o); return err }, make16(OptSourceLinkAddr)},
		{"MTU as SLLA", false, func(o Option) error { _, err := ParseLinkAddr(o); return err }, []byte{5, 1, 0, 0, 0, 0, 5, 0}},
		{"MTU of 16 bytes", false, func(o Option) error { _, err := ParseMTU(o); return err }, make16(OptMTU)},
		{"prefix of 8 bytes", false, func(o Option) error { _, err := ParsePrefixInfo(o); return err }, []byte{3, 1, 0, 0, 0, 0, 0, 0}},
		{"RDNSS of 16 bytes", false, func(o Option) error { _, err := ParseRDNSS(o); return err }, make16(OptRDNSS)},
		{"RDNSS of 32 bytes", false, func(o Option) error { _, err := ParseRDNSS(o); return err }, make([]byte, 32)},
		{"RDNSS of 24 bytes", true, func(o Option) error { _, err := ParseRDNSS(o); return err }, append([]byte{25, 3}, make([]byte, 22)...)},
		{"nonce of 8", true, func(o Option) error { _, err := ParseNonce(o); return err }, []byte{14, 1, 1, 2, 3, 4, 5, 6}},
		{"redirected header 8", true, func(o Option) error { _, err := ParseRedirectedHeader(o); return err }, []byte{4, 1, 0, 0, 0, 0, 0, 0}},
	} {
		err := tc.err(Option(tc.o))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func make16(typ uint8) []byte {
	b := make([]byte, 16)
	b[0], b[1] = typ, 2
	return b
}

func TestEncodeOptionLimits(t *testing.T) {
	if _, err := (&RDNSSFields{Lifetime: 1}).Encode(make([]byte, 64)); err != ErrOption {
		t.Fatalf("RDNSS without a server: %v", err)
	}
	if _, err := (&RedirectedHeaderFields{make([]byte, 2041)}).Encode(make([]byte, 4096)); err != ErrOption {
		t.Fatalf("redirected header over 255 units: %v", err)
	}
	f := RedirectedHeaderFields{[]byte{1, 2, 3}}
	b := make([]byte, f.Len())
	if n, err := f.Encode(b); err != nil || n != 16 || b[1] != 2 || b[11] != 0 {
		t.Fatalf("padded header: %d %v % x", n, err, b)
	}
}

func TestAddresses(t *testing.T) {
	if got := LinkLocal(EUI64(macH)); got != llH {
		t.Fatalf("EUI-64 link-local %v", got)
	}
	for _, tc := range []struct {
		iid      [8]byte
		reserved bool
	}{
		{[8]byte{}, true},
		{[8]byte{0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80}, true},
		{[8]byte{0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, false},
		{[8]byte{0x02, 0x00, 0x5e, 0xff, 0xfe, 0, 0x52, 0x13}, true},
		{EUI64(macH), false},
	} {
		if reservedIID(tc.iid) != tc.reserved {
			t.Errorf("reservedIID(% x) != %v", tc.iid, tc.reserved)
		}
	}
}
