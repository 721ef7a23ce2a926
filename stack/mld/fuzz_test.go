package mld

import (
	"encoding/hex"
	"reflect"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// FuzzCodecs parses arbitrary bytes as every MLD message; whatever parses
// must encode back and parse again to the same values.
func FuzzCodecs(f *testing.F) {
	for _, g := range []string{goldenJoin, goldenQuery, goldenCurrent, goldenRouterReport} {
		b, _ := hex.DecodeString(g)
		f.Add(b[62:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if q, err := ParseQuery(b); err == nil {
			f := q.Fields()
			_, _ = q.MaxRespDelay(), q.QueryInterval()
			e := make([]byte, f.Len())
			if _, err := f.Encode(e); err != nil {
				t.Fatal(err)
			}
			q2, err := ParseQuery(e)
			if err != nil || !reflect.DeepEqual(q2.Fields(), f) {
				t.Fatalf("query round trip: %+v, %v; want %+v", q2.Fields(), err, f)
			}
		}
		if r, err := ParseReport(b); err == nil {
			f := r.Fields()
			e := make([]byte, f.Len())
			if _, err := f.Encode(e); err != nil {
				t.Fatal(err)
			}
			r2, err := ParseReport(e)
			if err != nil || !reflect.DeepEqual(r2.Fields(), f) {
				t.Fatalf("report round trip: %+v, %v; want %+v", r2.Fields(), err, f)
			}
		}
		if m, err := ParseV1(b); err == nil {
			f := m.Fields()
			e := make([]byte, f.Len())
			f.Encode(e)
			if m2, err := ParseV1(e); err != nil || m2.Fields() != f {
				t.Fatalf("v1 round trip: %+v, %v; want %+v", m2.Fields(), err, f)
			}
		}
	})
}

// FuzzInput feeds arbitrary messages to a layer with groups joined,
// with time passing between them: no panic, and the groups stay put.
func FuzzInput(f *testing.F) {
	for _, g := range []string{goldenJoin, goldenQuery, goldenCurrent, goldenRouterReport} {
		b, _ := hex.DecodeString(g)
		f.Add(b[62:], uint8(1), true)
	}
	f.Fuzz(func(t *testing.T, m []byte, hop uint8, ll bool) {
		h := newHarness(llUs)
		src := llQ
		if !ll {
			src = addr("2001:db8::1")
		}
		h.do(func() {
			h.l.Join(snUs)
			h.l.Input(src, inet.IPv6AllNodes, hop, m)
			h.l.Input(src, snUs, hop, m)
		})
		h.clk.Advance(time.Hour)
		h.do(func() {
			if g := h.l.Groups(nil); len(g) != 1 || g[0] != snUs {
				t.Fatalf("groups %v", g)
			}
		})
	})
}
