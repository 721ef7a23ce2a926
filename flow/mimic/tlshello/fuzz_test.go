package tlshello

import (
	"errors"
	"testing"
)

// FuzzParse: any input parses, is incomplete, or is refused with an
// *Error; a parsed hello used no more bytes than it was given and its
// name is a valid lower-case host name.
func FuzzParse(f *testing.F) {
	f.Add(unhex(rfc8448ClientHello))
	f.Add(fragment(unhex(rfc8448ClientHello), 7))
	f.Add(helloWith(sni("a.example")))
	f.Add(helloWith(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b, 4096)
		if err != nil {
			var e *Error
			if !errors.Is(err, ErrIncomplete) && !errors.As(err, &e) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("used %d of %d bytes", n, len(b))
		}
		if h.ServerName != "" && checkHostName([]byte(h.ServerName)) != nil {
			t.Fatalf("bad name %q accepted", h.ServerName)
		}
	})
}
