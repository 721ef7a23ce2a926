package ipv6

import (
	"bytes"
	"testing"

	"github.com/mirago/mirago/stack/inet"
)

// FuzzParseHeader checks the header and extension-header views on any
// bytes: no accessor panics, lengths agree, and what parses re-encodes to
// the same bytes. Seeds: testdata/fuzz/FuzzParseHeader.
func FuzzParseHeader(f *testing.F) {
	f.Add(goldenEcho)
	f.Add(packet(Fields{NextHeader: inet.ProtoHopByHop, Src: peerAddr, Dst: ourAddr}, cat(ext(inet.ProtoDestOpts, OptRouterAlert, 2, 0, 0), ext(inet.ProtoFragment, 0x9e, 1, 0), frag(inet.ProtoUDP, 8, true, 7, seq(16)))))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err == nil {
			if len(h) < HeaderLen || len(h) > len(b) || int(h.PayloadLen()) != len(h)-HeaderLen || len(h.Payload()) != len(h)-HeaderLen {
				t.Fatalf("inconsistent view: len %d payload length %d", len(h), h.PayloadLen())
			}
			f := h.Fields()
			out := make([]byte, HeaderLen)
			if n, err := f.Encode(out); n != HeaderLen || err != nil || !bytes.Equal(out, h[:HeaderLen]) {
				t.Fatalf("re-encode %x != %x", out, h[:HeaderLen])
			}
			walkCodecs(t, h.NextHeader(), h.Payload())
			if proto, off, ok := UpperLayer(h, 8); ok && (off < HeaderLen || off > len(h)) {
				t.Fatalf("upper layer %d at %d of %d", proto, off, len(h))
			}
		}
		if q, err := ParseQuoted(b); err == nil {
			if len(q) < HeaderLen || len(q) > len(b) {
				t.Fatal("quoted view")
			}
			UpperLayer(q, 8)
		}
	})
}

// walkCodecs parses the extension headers in b with their views,
// re-encoding each.
func walkCodecs(t *testing.T, nh uint8, b []byte) {
	for range 16 {
		switch nh {
		case inet.ProtoHopByHop, inet.ProtoDestOpts:
			oh, err := ParseOptionsHeader(b)
			if err != nil {
				return
			}
			it := Iter(oh.Options())
			n := 0
			for {
				_, data, off, ok := it.Next()
				if !ok {
					break
				}
				if off < n || off+len(data) > len(oh.Options()) {
					t.Fatalf("option at %d with %d bytes in %d", off, len(data), len(oh.Options()))
				}
				n = off + 1
			}
			// Options end exactly at the header's end, so re-encoding
			// adds no padding.
			if it.Err() == nil {
				f := oh.Fields()
				out := make([]byte, f.Len())
				if n, err := f.Encode(out); err != nil || n != len(oh) || !bytes.Equal(out, oh) {
					t.Fatalf("options re-encode %x != %x", out, []byte(oh))
				}
			}
			nh, b = oh.NextHeader(), b[len(oh):]
		case inet.ProtoRouting:
			rh, err := ParseRoutingHeader(b)
			if err != nil {
				return
			}
			f := rh.Fields()
			out := make([]byte, f.Len())
			if n, err := f.Encode(out); err != nil || n != len(rh) || !bytes.Equal(out, rh) {
				t.Fatalf("routing re-encode %x != %x", out, []byte(rh))
			}
			nh, b = rh.NextHeader(), b[len(rh):]
		case inet.ProtoFragment:
			fh, err := ParseFragmentHeader(b)
			if err != nil {
				return
			}
			f := fh.Fields()
			out := make([]byte, 8)
			f.Encode(out)
			if out[0] != fh[0] || out[2] != fh[2] || out[3]&0xf9 != fh[3]&0xf9 || !bytes.Equal(out[4:], fh[4:]) {
				t.Fatalf("fragment re-encode %x != %x", out, []byte(fh))
			}
			nh, b = fh.NextHeader(), b[8:]
		default:
			return
		}
	}
}
