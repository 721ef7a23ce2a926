package xerr

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestWrapMatchesErrorf(t *testing.T) {
	err := Wrap("udp port 7", io.ErrClosedPipe)
	want := fmt.Errorf("udp port 7: %w", io.ErrClosedPipe)
	if err.Error() != want.Error() {
		t.Fatalf("Wrap = %q, fmt.Errorf = %q", err, want)
	}
	if !errors.Is(err, io.ErrClosedPipe) || errors.Unwrap(err) != io.ErrClosedPipe {
		t.Fatalf("Wrap does not unwrap to its cause")
	}
	if Wrap("x", nil) != nil {
		t.Fatal("Wrap of a nil error is not nil")
	}
	outer := Wrap("outer", err)
	if outer.Error() != "outer: udp port 7: io: read/write on closed pipe" || !errors.Is(outer, io.ErrClosedPipe) {
		t.Fatalf("nested: %q", outer)
	}
}
