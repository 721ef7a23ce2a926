// virtio-net driver tests against the device model.

package virtio_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mirago/mirago/drivers/virtio"
	"github.com/mirago/mirago/drivers/virtio/internal/virtiomodel"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

func TestNegotiation(t *testing.T) {
	r := newRig(t, virtio.NetConfig{}, nil)
	want := uint32(virtio.StatusAcknowledge | virtio.StatusDriver | virtio.StatusFeaturesOK | virtio.StatusDriverOK)
	if s := r.dev.Status(); s != want {
		t.Errorf("status = %#x, want %#x", s, want)
	}
	feat := virtio.FeatureVersion1 | virtio.FeatureNetMAC | virtio.FeatureNetMTU | virtio.FeatureNetStatus
	if r.dev.DriverFeatures != feat {
		t.Errorf("driver features = %#x, want %#x", r.dev.DriverFeatures, feat)
	}
	if got := r.net.MAC().String(); got != "52:54:00:12:34:56" {
		t.Errorf("MAC = %s", got)
	}
	if r.net.MTU() != 1500 || r.net.Headroom() != 12 || !r.net.LinkUp() {
		t.Errorf("MTU %d headroom %d link %v", r.net.MTU(), r.net.Headroom(), r.net.LinkUp())
	}
	if n := r.dev.Avail(virtiomodel.RxQueue); n != 128 {
		t.Errorf("receive ring holds %d buffers, want 128", n)
	}
	if r.dev.Notifies[virtiomodel.RxQueue] == 0 {
		t.Error("receive queue never notified")
	}
	if r.dev.AvailFlags(virtiomodel.TxQueue)&1 == 0 {
		t.Error("transmit queue does not suppress interrupts")
	}
}

func TestNegotiationFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tweak func(*virtiomodel.Device)
		cfg   virtio.NetConfig
		want  error
	}{
		{"refuses FEATURES_OK", func(d *virtiomodel.Device) { d.RefuseFeaturesOK = true }, virtio.NetConfig{}, virtio.ErrFeaturesRefused},
		{"no VERSION_1", func(d *virtiomodel.Device) { d.Features &^= virtio.FeatureVersion1 }, virtio.NetConfig{}, nil},
		{"no MAC, none configured", func(d *virtiomodel.Device) { d.Features &^= virtio.FeatureNetMAC }, virtio.NetConfig{}, nil},
		{"no queues", func(d *virtiomodel.Device) { d.NumQueues = 0 }, virtio.NetConfig{}, virtio.ErrNoQueue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := virtiomodel.NewNet(virtiomodel.NewMem(1 << 20))
			tc.tweak(dev)
			tr, err := virtio.Probe(dev)
			if err != nil {
				t.Fatal(err)
			}
			_, err = virtio.NewNet(tr, dev.Mem, tc.cfg)
			if err == nil {
				t.Fatal("NewNet succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if dev.Status()&virtio.StatusFailed == 0 {
				t.Errorf("status %#x: FAILED not set", dev.Status())
			}
			if dev.Status()&virtio.StatusDriverOK != 0 {
				t.Errorf("status %#x: DRIVER_OK set on failure", dev.Status())
			}
		})
	}
}

func TestProbe(t *testing.T) {
	mem := virtiomodel.NewMem(1 << 16)
	legacy := virtiomodel.NewNet(mem)
	legacy.Version = 1
	if _, err := virtio.Probe(legacy); !errors.Is(err, virtio.ErrLegacy) {
		t.Errorf("legacy: %v", err)
	}
	empty := virtiomodel.New(mem, 0, 0)
	if _, err := virtio.Probe(empty); !errors.Is(err, virtio.ErrNoDevice) {
		t.Errorf("empty slot: %v", err)
	}
	if _, err := virtio.Probe(zeroRegs{}); !errors.Is(err, virtio.ErrNotVirtio) {
		t.Errorf("no transport: %v", err)
	}
	rng := virtiomodel.NewRNG(mem, func([]byte) {})
	tr, _ := virtio.Probe(rng)
	if _, err := virtio.NewNet(tr, mem, virtio.NetConfig{}); err == nil {
		t.Error("NewNet accepted an entropy device")
	}
}

type zeroRegs struct{}

func (zeroRegs) Read32(uint32) uint32   { return 0 }
func (zeroRegs) Write32(uint32, uint32) {}

func TestConfigOptions(t *testing.T) {
	small := newRig(t, virtio.NetConfig{}, func(d *virtiomodel.Device) { d.Config[10], d.Config[11] = 0x78, 0x05 }) // 1400
	if small.net.MTU() != 1400 {
		t.Errorf("device MTU 1400: got %d", small.net.MTU())
	}
	big := newRig(t, virtio.NetConfig{}, func(d *virtiomodel.Device) { d.Config[10], d.Config[11] = 0x28, 0x23 }) // 9000
	if big.net.MTU() != 1500 {
		t.Errorf("device MTU 9000: got %d, want the 1500 cap", big.net.MTU())
	}
	mac := inet.MAC{2, 0, 0, 0, 0, 1}
	nomac := newRig(t, virtio.NetConfig{MAC: mac, RxQueueSize: 300, TxQueueSize: 3}, func(d *virtiomodel.Device) {
		d.Features &^= virtio.FeatureNetMAC
		d.QueueMax = 64
	})
	if nomac.net.MAC() != mac {
		t.Errorf("MAC = %v, want the configured %v", nomac.net.MAC(), mac)
	}
	if n := nomac.dev.Avail(virtiomodel.RxQueue); n != 64 {
		t.Errorf("receive ring %d, want 64 (device max)", n)
	}
	if nomac.dev.Queues[virtiomodel.TxQueue].Num != 2 {
		t.Errorf("transmit ring %d, want 2 (power of two below 3)", nomac.dev.Queues[virtiomodel.TxQueue].Num)
	}
}

func TestReceiveRefillsRing(t *testing.T) {
	r := newRig(t, virtio.NetConfig{RxQueueSize: 8}, nil)
	var want [][]byte
	for round := range 5 {
		for i := range 8 {
			f := frame(round*8+i, 60+i)
			want = append(want, f)
			if err := r.dev.Receive(f); err != nil {
				t.Fatalf("round %d frame %d: %v", round, i, err)
			}
		}
		if err := r.dev.Receive(frame(0, 60)); !errors.Is(err, virtiomodel.ErrEmpty) {
			t.Fatalf("ring should be empty before Poll, got %v", err)
		}
		if n := r.net.HandleInterrupt(); n != 8 {
			t.Fatalf("round %d: HandleInterrupt handled %d", round, n)
		}
		if a := r.dev.Avail(virtiomodel.RxQueue); a != 8 {
			t.Fatalf("round %d: ring refilled with %d buffers, want 8", round, a)
		}
		if r.dev.InterruptStatus() != 0 {
			t.Fatalf("interrupt not acknowledged")
		}
	}
	if len(r.got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(r.got), len(want))
	}
	for i := range want {
		if !bytes.Equal(r.got[i], want[i]) {
			t.Fatalf("frame %d differs", i)
		}
	}
	s := r.net.Stats()
	if s.RxFrames != 40 || s.RxErrors != 0 || s.RxDropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestReceiveWithoutHandler(t *testing.T) {
	r := newRig(t, virtio.NetConfig{}, nil)
	r.net.SetHandler(nil)
	r.dev.Receive(frame(1, 64))
	r.net.Poll()
	if s := r.net.Stats(); s.RxDropped != 1 || s.RxFrames != 0 {
		t.Errorf("stats %+v", s)
	}
	if r.dev.Avail(virtiomodel.RxQueue) != 128 {
		t.Error("buffer not requeued")
	}
}

func TestReceiveLendsDMABuffer(t *testing.T) {
	r := newRig(t, virtio.NetConfig{}, nil)
	var seen []byte
	r.net.SetHandler(func(f []byte, _ netif.RxMeta) { seen = f })
	r.dev.Receive(frame(3, 100))
	r.net.Poll()
	// The handler's slice is the DMA buffer itself: its capacity ends at
	// the frame (no copy, and no way to write past it).
	if len(seen) != 100 || cap(seen) != 100 {
		t.Errorf("len %d cap %d", len(seen), cap(seen))
	}
}

func TestTransmitGather(t *testing.T) {
	r := newRig(t, virtio.NetConfig{}, nil)
	hdr := frame(7, 54) // Ethernet+IPv4+TCP headers
	p1, p2 := frame(100, 700), frame(200, 300)
	for _, headroom := range []int{64, 12, 0} {
		b := buf(hdr, headroom)
		b.Attach(p1)
		b.Attach(p2)
		if err := r.net.Transmit(b); err != nil {
			t.Fatalf("headroom %d: %v", headroom, err)
		}
		if b.Headroom() != headroom || !bytes.Equal(b.Bytes(), hdr) {
			t.Errorf("headroom %d: Transmit changed the Buf", headroom)
		}
		sent, err := r.dev.Transmit(-1, true)
		if err != nil || len(sent) != 1 {
			t.Fatalf("headroom %d: device got %d frames, %v", headroom, len(sent), err)
		}
		want := append(append(append([]byte{}, hdr...), p1...), p2...)
		if !bytes.Equal(sent[0].Frame, want) {
			t.Errorf("headroom %d: frame differs (len %d, want %d)", headroom, len(sent[0].Frame), len(want))
		}
		if !bytes.Equal(sent[0].Header, make([]byte, 12)) {
			t.Errorf("headroom %d: header % x, want zeros", headroom, sent[0].Header)
		}
	}
	if s := r.net.Stats(); s.TxFrames != 3 || s.TxBytes != 3*1054 {
		t.Errorf("stats %+v", s)
	}
}

func TestTransmitRingFull(t *testing.T) {
	r := newRig(t, virtio.NetConfig{TxQueueSize: 4}, nil)
	send := func() error { return r.net.Transmit(buf(frame(1, 60), 12)) }
	for i := range 4 {
		if err := send(); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if err := send(); !errors.Is(err, netif.ErrBusy) {
		t.Fatalf("full ring: %v, want ErrBusy", err)
	}
	sent, _ := r.dev.Transmit(-1, false) // device takes them, completes none
	if len(sent) != 4 {
		t.Fatalf("device took %d", len(sent))
	}
	if err := send(); !errors.Is(err, netif.ErrBusy) {
		t.Fatalf("nothing completed: %v, want ErrBusy", err)
	}
	rooms := 0
	if !r.net.SetTxRoom(func() { rooms++ }) {
		t.Fatal("SetTxRoom: virtio-net reports room")
	}
	// A refusal turned the completion interrupt on (no event index):
	// the driver is told at each completion until half the ring is free.
	r.dev.PushUsed(virtiomodel.TxQueue, uint32(sent[2].ID), 0)
	if r.dev.InterruptStatus()&virtio.IntUsedBuffer == 0 {
		t.Fatal("a completion after a refusal raised no interrupt")
	}
	r.net.HandleInterrupt()
	if rooms != 0 {
		t.Fatal("room reported with 1 of 4 descriptors free")
	}
	r.dev.PushUsed(virtiomodel.TxQueue, uint32(sent[0].ID), 0)
	r.net.HandleInterrupt()
	if rooms != 1 {
		t.Fatalf("room reported %d times with 2 of 4 descriptors free, want 1", rooms)
	}
	// The interrupt is off again.
	r.dev.PushUsed(virtiomodel.TxQueue, uint32(sent[1].ID), 0)
	if r.dev.InterruptStatus()&virtio.IntUsedBuffer != 0 {
		t.Error("transmit completion raised an interrupt after the room was reported")
	}
	for i := range 3 {
		if err := send(); err != nil {
			t.Fatalf("after three completions, frame %d: %v", i, err)
		}
	}
	if err := send(); !errors.Is(err, netif.ErrBusy) {
		t.Fatalf("ring full again: %v", err)
	}
	if s := r.net.Stats(); s.TxFrames != 7 || s.TxDropped != 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestTransmitChecks(t *testing.T) {
	r := newRig(t, virtio.NetConfig{}, nil)
	if err := r.net.Transmit(buf(frame(0, 1515), 12)); !errors.Is(err, netif.ErrTooBig) {
		t.Errorf("1515-byte frame: %v", err)
	}
	if err := r.net.Transmit(buf(frame(0, 1514), 12)); err != nil {
		t.Errorf("1514-byte frame: %v", err)
	}
	r.dev.SetUsedFlags(virtiomodel.TxQueue, 1) // VIRTQ_USED_F_NO_NOTIFY
	before := r.dev.Notifies[virtiomodel.TxQueue]
	r.net.Transmit(buf(frame(0, 60), 12))
	if r.dev.Notifies[virtiomodel.TxQueue] != before {
		t.Error("notified despite VIRTQ_USED_F_NO_NOTIFY")
	}
}

func TestLinkStatus(t *testing.T) {
	r := newRig(t, virtio.NetConfig{}, nil)
	r.dev.SetLink(false)
	if s := r.net.AckInterrupt(); s&virtio.IntConfigChanged == 0 {
		t.Fatalf("interrupt status %#x", s)
	}
	if r.net.LinkUp() {
		t.Fatal("link still up")
	}
	if err := r.net.Transmit(buf(frame(0, 60), 12)); !errors.Is(err, netif.ErrLinkDown) {
		t.Errorf("link down: %v", err)
	}
	r.dev.SetLink(true)
	r.net.HandleInterrupt()
	if !r.net.LinkUp() {
		t.Fatal("link not back up")
	}
	if err := r.net.Transmit(buf(frame(0, 60), 12)); err != nil {
		t.Errorf("link up: %v", err)
	}

	nostatus := newRig(t, virtio.NetConfig{}, func(d *virtiomodel.Device) {
		d.Features &^= virtio.FeatureNetStatus
		d.SetLink(false)
	})
	if !nostatus.net.LinkUp() {
		t.Error("without VIRTIO_NET_F_STATUS the link must be up")
	}
}

func TestMalformedUsedEntries(t *testing.T) {
	r := newRig(t, virtio.NetConfig{RxQueueSize: 8, TxQueueSize: 4}, nil)
	// Receive: an id out of range, a length past the buffer, a runt, and
	// an id the device does not own.
	r.dev.PushUsed(virtiomodel.RxQueue, 9999, 64)
	id, _, _, _ := r.dev.PopOne(virtiomodel.RxQueue)
	r.dev.PushUsed(virtiomodel.RxQueue, uint32(id), 1<<20)
	id, _, _, _ = r.dev.PopOne(virtiomodel.RxQueue)
	r.dev.PushUsed(virtiomodel.RxQueue, uint32(id), 13)
	r.net.Poll()
	if err := r.dev.Receive(frame(9, 64)); err != nil {
		t.Fatal(err)
	}
	r.net.Poll()
	s := r.net.Stats()
	if r.net.Malformed() < 2 || s.RxErrors < 3 {
		t.Errorf("malformed %d, stats %+v", r.net.Malformed(), s)
	}
	if len(r.got) == 0 || !bytes.Equal(r.got[len(r.got)-1], frame(9, 64)) {
		t.Error("good frame after bad entries not delivered")
	}

	// Transmit: completions for descriptors never sent.
	r.dev.PushUsed(virtiomodel.TxQueue, 3, 0)
	r.dev.PushUsed(virtiomodel.TxQueue, 12345, 0)
	if err := r.net.Transmit(buf(frame(0, 60), 12)); err != nil {
		t.Fatal(err)
	}
	if s := r.net.Stats(); s.TxErrors != 2 {
		t.Errorf("tx stats %+v", s)
	}
	// The free list was not corrupted: exactly 4 frames fit.
	for i := range 3 {
		if err := r.net.Transmit(buf(frame(0, 60), 12)); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if err := r.net.Transmit(buf(frame(0, 60), 12)); !errors.Is(err, netif.ErrBusy) {
		t.Errorf("5th frame: %v", err)
	}
}

func TestClose(t *testing.T) {
	r := newRig(t, virtio.NetConfig{}, nil)
	if err := r.net.Close(); err != nil {
		t.Fatal(err)
	}
	if r.dev.Status() != 0 {
		t.Errorf("status %#x after Close, want reset", r.dev.Status())
	}
	if err := r.net.Transmit(buf(frame(0, 60), 12)); !errors.Is(err, netif.ErrClosed) {
		t.Errorf("Transmit after Close: %v", err)
	}
	if r.net.Poll() != 0 {
		t.Error("Poll after Close")
	}
	if err := r.net.Close(); err != nil {
		t.Error(err)
	}
}

func TestNoAllocations(t *testing.T) {
	r := newRig(t, virtio.NetConfig{RxQueueSize: 256, TxQueueSize: 256}, nil)
	r.net.SetHandler(func([]byte, netif.RxMeta) {})
	f := frame(1, 1000)
	if a := testing.AllocsPerRun(100, func() {
		r.dev.Receive(f)
		r.net.Poll()
	}); a != 0 {
		t.Errorf("receive: %v allocs per frame", a)
	}
	b := pkt.New(1200, 64)
	copy(b.Append(100), f)
	b.Attach(f[100:])
	if a := testing.AllocsPerRun(100, func() {
		if err := r.net.Transmit(b); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("transmit: %v allocs per frame", a)
	}
}
