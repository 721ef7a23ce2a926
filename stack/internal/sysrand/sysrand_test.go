//go:build !tamago

package sysrand

import "testing"

func TestHostDefault(t *testing.T) {
	var b [8]byte
	if r := Reader(); r == nil {
		t.Fatal("no default source on a host build")
	} else if _, err := r.Read(b[:]); err != nil {
		t.Fatal(err)
	}
}
