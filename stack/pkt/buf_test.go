package pkt

import (
	"bytes"
	"testing"
)

func TestBuildBackToFront(t *testing.T) {
	b := New(64, 20)
	copy(b.Append(3), "abc")
	if !b.Attach([]byte("de")) || !b.Attach([]byte("f")) {
		t.Fatal("Attach refused one of two slices")
	}
	if b.Attach([]byte("g")) {
		t.Fatal("Attach accepted a third slice")
	}
	if b.Append(1) != nil {
		t.Fatal("Append after Attach must refuse")
	}
	h, err := b.Prepend(4)
	if err != nil {
		t.Fatal(err)
	}
	copy(h, "HDR:")
	if b.Headroom() != 16 || b.Len() != 10 {
		t.Fatalf("headroom %d len %d, want 16 10", b.Headroom(), b.Len())
	}
	out := make([]byte, 32)
	n := b.CopyTo(out)
	if got := string(out[:n]); got != "HDR:abcdef" {
		t.Fatalf("CopyTo = %q", got)
	}
	if _, err := b.Prepend(17); err != ErrNoHeadroom {
		t.Fatalf("Prepend beyond headroom: err %v", err)
	}
	if !b.Flatten() || !bytes.Equal(b.Bytes(), []byte("HDR:abcdef")) || len(b.Attached()) != 0 {
		t.Fatalf("Flatten: %q, %d attached", b.Bytes(), len(b.Attached()))
	}
	if !b.TrimFront(4) || string(b.Bytes()) != "abcdef" || b.TrimFront(7) {
		t.Fatalf("TrimFront: %q", b.Bytes())
	}
}

func TestFlattenNeedsTailroom(t *testing.T) {
	b := New(8, 4)
	copy(b.Append(2), "ab")
	b.Attach([]byte("cdef"))
	if b.Flatten() {
		t.Fatal("Flatten succeeded without tailroom")
	}
	if b.Len() != 6 {
		t.Fatalf("failed Flatten changed the packet: len %d", b.Len())
	}
}

func TestResetClamps(t *testing.T) {
	b := New(8, 100)
	if b.Headroom() != 8 || b.Tailroom() != 0 {
		t.Fatalf("headroom %d tailroom %d", b.Headroom(), b.Tailroom())
	}
	b.Reset(-1)
	if b.Headroom() != 0 {
		t.Fatalf("headroom %d", b.Headroom())
	}
}

func TestPoolNoAllocs(t *testing.T) {
	p := NewPool(2048)
	p.Put(p.Get(64)) // warm
	allocs := testing.AllocsPerRun(1000, func() {
		b := p.Get(64)
		b.Append(100)
		p.Put(b)
	})
	if allocs != 0 {
		t.Fatalf("Get/Put allocated %.1f times per run", allocs)
	}
}
