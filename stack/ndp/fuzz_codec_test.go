package ndp

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

// FuzzCodecs parses arbitrary bytes as every ND message and every option
// it carries; whatever parses must encode back to the same bytes (the
// reserved fields aside) and parse again to the same values.
func FuzzCodecs(f *testing.F) {
	for _, g := range []string{goldenDADNS, goldenRS, goldenRA, goldenNS, goldenNA, goldenRedirect, goldenUnicastNS, goldenProbeNA} {
		b, _ := hex.DecodeString(g)
		f.Add(b[54:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseRS(b); err == nil {
			roundTrip(t, m.Fields(), func(f RSFields) encoder { return &f }, func(b []byte) (any, error) {
				m, err := ParseRS(b)
				return m.Fields(), err
			})
			checkOptions(t, m.Options())
		}
		if m, err := ParseRA(b); err == nil {
			roundTrip(t, m.Fields(), func(f RAFields) encoder { return &f }, func(b []byte) (any, error) {
				m, err := ParseRA(b)
				return m.Fields(), err
			})
			_ = m.Preference()
			checkOptions(t, m.Options())
		}
		if m, err := ParseNS(b); err == nil {
			roundTrip(t, m.Fields(), func(f NSFields) encoder { return &f }, func(b []byte) (any, error) {
				m, err := ParseNS(b)
				return m.Fields(), err
			})
			checkOptions(t, m.Options())
		}
		if m, err := ParseNA(b); err == nil {
			roundTrip(t, m.Fields(), func(f NAFields) encoder { return &f }, func(b []byte) (any, error) {
				m, err := ParseNA(b)
				return m.Fields(), err
			})
			checkOptions(t, m.Options())
		}
		if m, err := ParseRedirect(b); err == nil {
			roundTrip(t, m.Fields(), func(f RedirectFields) encoder { return &f }, func(b []byte) (any, error) {
				m, err := ParseRedirect(b)
				return m.Fields(), err
			})
			checkOptions(t, m.Options())
		}
		if o, err := ParseOptions(b); err == nil {
			checkOptions(t, o)
		}
	})
}

// roundTrip encodes f, parses the result and wants f back.
func roundTrip[F any](t *testing.T, f F, enc func(F) encoder, parse func([]byte) (any, error)) {
	t.Helper()
	e := enc(f)
	b := make([]byte, e.Len())
	if n, err := e.Encode(b); err != nil || n != len(b) {
		t.Fatalf("Encode %+v: %d, %v", f, n, err)
	}
	got, err := parse(b)
	if err != nil {
		t.Fatalf("re-parse of %+v: %v", f, err)
	}
	if !reflect.DeepEqual(got, any(f)) {
		t.Fatalf("round trip\n%+v\nwant %+v", got, f)
	}
}

// checkOptions walks a checked chain and round-trips every option that
// its typed view accepts.
func checkOptions(t *testing.T, o Options) {
	t.Helper()
	total := 0
	for len(o) > 0 {
		var op Option
		op, o = o.Next()
		total += len(op)
		if len(op) == 0 || len(op)%8 != 0 {
			t.Fatalf("option of %d bytes", len(op))
		}
		var e encoder
		switch op.Type() {
		case OptSourceLinkAddr, OptTargetLinkAddr:
			if v, err := ParseLinkAddr(op); err == nil {
				f := v.Fields()
				e = &f
			}
		case OptMTU:
			if v, err := ParseMTU(op); err == nil {
				f := v.Fields()
				e = &f
			}
		case OptPrefixInfo:
			if v, err := ParsePrefixInfo(op); err == nil {
				f := v.Fields()
				e = &f
			}
		case OptRDNSS:
			if v, err := ParseRDNSS(op); err == nil {
				f := v.Fields()
				e = &f
			}
		case OptRedirectedHeader:
			if v, err := ParseRedirectedHeader(op); err == nil {
				f := v.Fields()
				e = &f
			}
		case OptNonce:
			if v, err := ParseNonce(op); err == nil && len(op) == 8 {
				f := v.Fields()
				e = &f
			}
		}
		if e == nil {
			continue
		}
		b := make([]byte, e.Len())
		if _, err := e.Encode(b); err != nil {
			t.Fatalf("encode option % x: %v", op, err)
		}
		// Reserved bytes are written as zero; compare the rest.
		want := bytes.Clone(op)
		switch op.Type() {
		case OptMTU:
			want[2], want[3] = 0, 0
		case OptPrefixInfo:
			want[3] &= flagOnLink | flagAutonomous
			clear(want[12:16])
		case OptRDNSS:
			want[2], want[3] = 0, 0
		case OptRedirectedHeader:
			clear(want[2:8])
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("option\n% x\nencoded back as\n% x", want, b)
		}
	}
}
