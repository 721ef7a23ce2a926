// Entropy device tests against the device model.

package virtio_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/virtio"
	"github.com/mirago/mirago/drivers/virtio/internal/virtiomodel"
)

func newRNG(t *testing.T, dev *virtiomodel.Device) *virtio.RNG {
	t.Helper()
	tr, err := virtio.Probe(dev)
	if err != nil {
		t.Fatal(err)
	}
	g, err := virtio.NewRNG(tr, dev.Mem)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestRNGRead(t *testing.T) {
	n := byte(0)
	dev := virtiomodel.NewRNG(virtiomodel.NewMem(1<<16), func(b []byte) {
		for i := range b {
			b[i] = n
			n++
		}
	})
	g := newRNG(t, dev)
	p := make([]byte, 150)
	if k, err := g.Read(p); k != 150 || err != nil {
		t.Fatalf("Read = %d, %v", k, err)
	}
	want := make([]byte, 150)
	for i := range want {
		want[i] = byte(i)
	}
	if !bytes.Equal(p, want) {
		t.Errorf("got % x", p)
	}
	if dev.Status()&virtio.StatusDriverOK == 0 {
		t.Error("DRIVER_OK not set")
	}
}

func TestRNGFaults(t *testing.T) {
	mem := virtiomodel.NewMem(1 << 16)
	silent := virtiomodel.NewRNG(mem, nil)
	silent.OnNotify = nil
	g := newRNG(t, silent)
	g.Timeout = 10 * time.Millisecond
	if _, err := g.Read(make([]byte, 8)); !errors.Is(err, virtio.ErrRNGTimeout) {
		t.Errorf("silent device: %v", err)
	}
	if _, err := g.Read(make([]byte, 8)); !errors.Is(err, virtio.ErrRNGTimeout) {
		t.Errorf("after timeout: %v", err)
	}

	liar := virtiomodel.NewRNG(mem, nil)
	liar.OnNotify = func(int) {
		liar.PopOne(0)
		liar.PushUsed(0, 0, 1<<30) // longer than the buffer
	}
	if _, err := newRNG(t, liar).Read(make([]byte, 8)); err == nil {
		t.Error("oversized answer accepted")
	}

	empty := virtiomodel.NewRNG(mem, nil)
	empty.OnNotify = func(int) {
		empty.PopOne(0)
		empty.PushUsed(0, 0, 0)
	}
	if _, err := newRNG(t, empty).Read(make([]byte, 8)); err == nil {
		t.Error("device that never returns data: no error")
	}
}
