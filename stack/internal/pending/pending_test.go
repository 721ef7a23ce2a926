package pending

import (
	"testing"

	"github.com/mirago/mirago/stack/pkt"
)

func buf(v byte) *pkt.Buf {
	b := pkt.New(64, 16)
	b.Append(4)[0] = v
	return b
}

func TestQueues(t *testing.T) {
	p := New(5, 16, 100)
	var a, b Queue
	for i := range 4 {
		if d, ok := p.Push(&a, buf(byte(i)), 3); !ok || d != 0 && i < 3 || d != 1 && i == 3 {
			t.Fatalf("push %d: dropped %d, %v", i, d, ok)
		}
	}
	if a.Len() != 3 || p.Used() != 3 || p.Front(&a).Bytes()[0] != 1 {
		t.Fatalf("a holds %d, pool %d, front %v", a.Len(), p.Used(), p.Front(&a).Bytes())
	}
	p.Push(&b, buf(10), 3)
	p.Push(&b, buf(11), 3)
	if _, ok := p.Push(&b, buf(12), 3); ok {
		t.Fatal("pushed past the pool")
	}
	var got []byte
	if n := p.Drain(&a, func(x *pkt.Buf) { got = append(got, x.Bytes()[0]) }); n != 3 || string(got) != "\x01\x02\x03" {
		t.Fatalf("drained %d: % x", n, got)
	}
	if a.Len() != 0 || p.Used() != 2 || p.Front(&a) != nil {
		t.Fatal("not empty after Drain")
	}
	if n := p.Drain(&b, nil); n != 2 || p.Used() != 0 {
		t.Fatalf("drop: %d, pool %d", n, p.Used())
	}
	if !p.Fits(100) || p.Fits(101) {
		t.Fatal("Fits")
	}
}

func TestPushKeepsOffload(t *testing.T) {
	p := New(1, 16, 100)
	var q Queue
	b := pkt.New(64, 16)
	b.Append(40)
	b.SetPartialChecksum(20)
	p.Push(&q, b, 1)
	if o := p.Front(&q).Offload(); !o.NeedsCsum || o != b.Offload() {
		t.Fatalf("queued copy asks %+v, the original %+v", o, b.Offload())
	}
}

func TestNoAllocsOnceWarm(t *testing.T) {
	p := New(4, 16, 100)
	var q Queue
	b := buf(1)
	p.Push(&q, b, 4)
	p.Drain(&q, nil)
	n := 0
	if a := testing.AllocsPerRun(1000, func() {
		p.Push(&q, b, 4)
		p.Drain(&q, func(*pkt.Buf) { n++ })
	}); a != 0 {
		t.Fatalf("%v allocations per push and drain", a)
	}
}
