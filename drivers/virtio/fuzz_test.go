// Fuzzing the receive path with arbitrary virtio-net headers, buffer
// counts and used lengths.

package virtio_test

import (
	"testing"

	"github.com/mirago/mirago/drivers/virtio"
	"github.com/mirago/mirago/drivers/virtio/internal/virtiomodel"
	"github.com/mirago/mirago/stack/netif"
)

// FuzzReceive makes the device return, with QEMU's TAP features (mergeable
// buffers, every offload) or its user-networking ones, a frame whose
// header, buffer count and used lengths come from the fuzzer. The driver
// must not panic, must hand up only frames the negotiated features allow
// (with metadata to match), and must leave every buffer back on the ring.
func FuzzReceive(f *testing.F) {
	h := func(flags, gso byte, hdrLen, gsoSize, start, off, nb uint16) []byte {
		b := make([]byte, 12)
		virtiomodel.NetHdr{Flags: flags, GSOType: gso, HdrLen: hdrLen, GSOSize: gsoSize, CsumStart: start, CsumOffset: off, NumBuffers: nb}.Put(b)
		return b
	}
	f.Add(h(0, 0, 0, 0, 0, 0, 1), []byte{100}, true)
	f.Add(h(1, 1, 66, 1448, 34, 16, 3), []byte{255, 255, 40}, true)
	f.Add(h(2, 0, 0, 0, 0, 0, 1), []byte{200}, false)
	f.Add(h(1, 4, 86, 1428, 54, 16, 2), []byte{255, 10}, true)
	f.Add(h(1, 0x81, 66, 1448, 34, 16, 1), []byte{90}, true)
	f.Add(h(0, 3, 42, 1472, 34, 6, 40), []byte{1, 2, 3}, true)
	f.Add(h(1, 1, 66, 0, 3000, 16, 1), []byte{4}, true)
	f.Fuzz(func(t *testing.T, hdr, lens []byte, tap bool) {
		if len(hdr) < 12 || len(lens) == 0 || len(lens) > 40 {
			return
		}
		dev := userDev()
		if tap {
			dev = tapDev()
		}
		var got []netif.RxMeta
		var sizes []int
		r, _ := newRigOn(t, dev, virtio.NetConfig{RxQueueSize: 64})
		r.net.SetHandler(func(fr []byte, m netif.RxMeta) {
			got = append(got, m)
			sizes = append(sizes, len(fr))
		})
		for i, l := range lens {
			id, b, _, err := dev.PopOne(virtiomodel.RxQueue)
			if err != nil {
				t.Fatal(err)
			}
			n := int(l) * len(b) / 255 // used length: 0..the whole buffer
			if i == 0 {
				copy(b, hdr[:12])
				n = max(n, 12)
			}
			for j := 12; i == 0 && j < n; j++ {
				b[j] = byte(j)
			}
			dev.PushUsed(virtiomodel.RxQueue, uint32(id), uint32(n))
		}
		for r.net.Poll() > 0 {
		}
		if a := dev.Avail(virtiomodel.RxQueue); a != 64 {
			t.Fatalf("%d buffers on the ring after Poll, want 64", a)
		}
		off := r.net.Offloads()
		for i, m := range got {
			if m.CsumVerified && !off.RxChecksum || m.SegSize != 0 && off.LargeReceive == 0 {
				t.Fatalf("frame %d: %+v without the offload (%+v)", i, m, off)
			}
			max := r.net.MTU() + 18
			if m.SegSize != 0 {
				max = off.LargeReceive
			}
			if sizes[i] < 14 || sizes[i] > max {
				t.Fatalf("frame %d: %d bytes handed up (meta %+v)", i, sizes[i], m)
			}
		}
	})
}
