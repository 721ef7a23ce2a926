package ipv4

import (
	"bytes"
	"testing"
)

func FuzzParseHeader(f *testing.F) {
	f.Add(goldenPing)
	f.Add(append(bytes.Clone(goldenUDP), make([]byte, 0x73-20)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err == nil {
			hl := h.HeaderLen()
			if hl < 20 || hl > len(h) || int(h.TotalLen()) != len(h) || len(h) > len(b) {
				t.Fatalf("inconsistent view: hl %d len %d total %d", hl, len(h), h.TotalLen())
			}
			if len(h.Options()) != hl-20 || len(h.Payload()) != len(h)-hl {
				t.Fatal("options/payload lengths")
			}
			_, _ = h.FragOffset(), h.IsFragment()
			it := Iter(h.Options())
			for {
				if _, _, ok := it.Next(); !ok {
					break
				}
			}
			// Re-encoding a valid header reproduces it (reserved flag clear).
			if h.ValidChecksum() && h[6]&0x80 == 0 {
				out := make([]byte, hl)
				f := h.Fields()
				if n, err := f.Encode(out); err != nil || n != hl || !bytes.Equal(out, h[:hl]) {
					t.Fatalf("re-encode %x != %x (%v)", out, h[:hl], err)
				}
			}
		}
		if q, err := ParseQuoted(b); err == nil {
			if q.HeaderLen() > len(q) || len(q) > len(b) {
				t.Fatal("quoted view")
			}
			_ = q.Payload()
		}
	})
}
