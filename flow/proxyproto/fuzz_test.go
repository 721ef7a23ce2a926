package proxyproto

import (
	"errors"
	"testing"
)

// FuzzParse: any input either parses, is incomplete, or is refused with
// an *Error; a parsed header is within its bounds and survives writing
// and parsing again.
func FuzzParse(f *testing.F) {
	for _, g := range golden {
		f.Add(wire(g.wire))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b, 512)
		if err != nil {
			var perr *Error
			if !errors.Is(err, ErrIncomplete) && !errors.As(err, &perr) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if n <= 0 || n > len(b) || (h.Version == 1 && n > MaxV1) || (h.Version == 2 && n > 512) {
			t.Fatalf("length %d of %d (v%d)", n, len(b), h.Version)
		}
		var again []byte
		if h.Version == 1 {
			again = h.AppendV1(nil)
		} else {
			again = h.AppendV2(nil)
		}
		h2, _, err := Parse(again, 1<<16)
		// A header that relays no client may come back as LOCAL
		// (v2) or UNKNOWN (v1): both mean "use the connection's
		// addresses".
		if err != nil || h2.Relayed() != h.Relayed() || (h.Relayed() && (h2.Source != h.Source || h2.Dest != h.Dest)) {
			t.Fatalf("round trip of %+v: %+v, %v", h, h2, err)
		}
	})
}
