// Test rig: the driver bound to the device model.

package virtio_test

import (
	"bytes"
	"testing"

	"github.com/mirago/mirago/drivers/virtio"
	"github.com/mirago/mirago/drivers/virtio/internal/virtiomodel"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// rig is a driver bound to a model device.
type rig struct {
	t   *testing.T
	dev *virtiomodel.Device
	net *virtio.Net
	got [][]byte // frames the handler saw (copied)
}

func newRig(t *testing.T, cfg virtio.NetConfig, tweak func(*virtiomodel.Device)) *rig {
	t.Helper()
	dev := virtiomodel.NewNet(virtiomodel.NewMem(4 << 20))
	if tweak != nil {
		tweak(dev)
	}
	tr, err := virtio.Probe(dev)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	n, err := virtio.NewNet(tr, dev.Mem, cfg)
	if err != nil {
		t.Fatalf("NewNet: %v", err)
	}
	r := &rig{t: t, dev: dev, net: n}
	n.SetHandler(func(f []byte, _ netif.RxMeta) { r.got = append(r.got, bytes.Clone(f)) })
	return r
}

// frame returns an Ethernet frame of n bytes whose bytes encode seq.
func frame(seq, n int) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = byte(seq + i)
	}
	return f
}

// buf returns a Buf with the stack's usual headroom holding f.
func buf(f []byte, headroom int) *pkt.Buf {
	b := pkt.New(headroom+len(f), headroom)
	copy(b.Append(len(f)), f)
	return b
}
