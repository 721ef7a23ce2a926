// Offload negotiation, mergeable receive buffers, receive and transmit
// offloads and event index, against the device model with the features
// QEMU offers over a TAP and under user networking.

package virtio_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/mirago/mirago/drivers/virtio"
	"github.com/mirago/mirago/drivers/virtio/internal/virtiomodel"
	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// rxMeta records the frames a handler saw with their metadata.
type rxMeta struct {
	f    []byte
	meta netif.RxMeta
}

// newRigOn binds the driver to dev (a model from NewNetTAP or
// NewNetUser, possibly tweaked) and records frames with their metadata.
func newRigOn(t *testing.T, dev *virtiomodel.Device, cfg virtio.NetConfig) (*rig, *[]rxMeta) {
	t.Helper()
	tr, err := virtio.Probe(dev)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	n, err := virtio.NewNet(tr, dev.Mem, cfg)
	if err != nil {
		t.Fatalf("NewNet: %v", err)
	}
	r := &rig{t: t, dev: dev, net: n}
	var got []rxMeta
	n.SetHandler(func(f []byte, m netif.RxMeta) {
		r.got = append(r.got, bytes.Clone(f))
		got = append(got, rxMeta{bytes.Clone(f), m})
	})
	return r, &got
}

func tapDev() *virtiomodel.Device  { return virtiomodel.NewNetTAP(virtiomodel.NewMem(8 << 20)) }
func userDev() *virtiomodel.Device { return virtiomodel.NewNetUser(virtiomodel.NewMem(8 << 20)) }

const base = virtio.FeatureVersion1 | virtio.FeatureNetMAC | virtio.FeatureNetMTU | virtio.FeatureNetStatus

func TestOffloadNegotiation(t *testing.T) {
	all := virtio.NetOffloadFeatures
	full := netif.Offloads{TxChecksum: true, TSO4Max: 65535, TSO6Max: 65575, RxChecksum: true, LargeReceive: 65589}
	for _, tc := range []struct {
		name    string
		dev     func() *virtiomodel.Device
		disable uint64
		feat    uint64
		off     netif.Offloads
	}{
		{"tap", tapDev, 0, base | all, full},
		{"tap, no tx checksum: no TSO either", tapDev, virtio.FeatureNetCsum,
			base | all&^(virtio.FeatureNetCsum|virtio.FeatureNetHostTSO4|virtio.FeatureNetHostTSO6),
			netif.Offloads{RxChecksum: true, LargeReceive: 65589}},
		{"tap, no rx checksum: no large receive either", tapDev, virtio.FeatureNetGuestCsum,
			base | all&^(virtio.FeatureNetGuestCsum|virtio.FeatureNetGuestTSO4|virtio.FeatureNetGuestTSO6),
			netif.Offloads{TxChecksum: true, TSO4Max: 65535, TSO6Max: 65575}},
		{"tap, no mergeable buffers: no large receive", tapDev, virtio.FeatureNetMrgRxbuf,
			base | all&^(virtio.FeatureNetMrgRxbuf|virtio.FeatureNetGuestTSO4|virtio.FeatureNetGuestTSO6),
			netif.Offloads{TxChecksum: true, TSO4Max: 65535, TSO6Max: 65575, RxChecksum: true}},
		{"tap, no TSO4", tapDev, virtio.FeatureNetHostTSO4, base | all&^virtio.FeatureNetHostTSO4,
			netif.Offloads{TxChecksum: true, TSO6Max: 65575, RxChecksum: true, LargeReceive: 65589}},
		{"tap, no large receive", tapDev, virtio.FeatureNetGuestTSO4 | virtio.FeatureNetGuestTSO6,
			base | all&^(virtio.FeatureNetGuestTSO4|virtio.FeatureNetGuestTSO6),
			netif.Offloads{TxChecksum: true, TSO4Max: 65535, TSO6Max: 65575, RxChecksum: true}},
		{"tap, no event index", tapDev, virtio.FeatureEventIdx, base | all&^virtio.FeatureEventIdx, full},
		{"tap, every offload off", tapDev, all, base, netif.Offloads{}},
		{"user networking", userDev, 0, base | virtio.FeatureNetMrgRxbuf | virtio.FeatureEventIdx, netif.Offloads{}},
		{"device offering TSO without checksum offload", func() *virtiomodel.Device {
			d := tapDev()
			d.Features &^= virtio.FeatureNetCsum | virtio.FeatureNetGuestCsum
			return d
		}, 0, base | virtio.FeatureNetMrgRxbuf | virtio.FeatureEventIdx, netif.Offloads{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newRigOn(t, tc.dev(), virtio.NetConfig{Disable: tc.disable})
			if r.dev.DriverFeatures != tc.feat {
				t.Errorf("accepted %#x, want %#x (extra %#x, missing %#x)", r.dev.DriverFeatures, tc.feat,
					r.dev.DriverFeatures&^tc.feat, tc.feat&^r.dev.DriverFeatures)
			}
			if got := r.net.Offloads(); got != tc.off {
				t.Errorf("Offloads() = %+v, want %+v", got, tc.off)
			}
			if r.net.Features() != r.dev.DriverFeatures {
				t.Errorf("Features() = %#x, device saw %#x", r.net.Features(), r.dev.DriverFeatures)
			}
		})
	}
}

// tcpFrame is an Ethernet+IPv4+TCP frame with n payload bytes whose TCP
// checksum field holds the pseudo-header sum (a partial checksum).
func tcpFrame(n int, seed byte) []byte {
	f := make([]byte, 54+n)
	f[12], f[13] = 0x08, 0x00
	f[14] = 0x45
	f[23] = 6
	copy(f[26:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	f[46] = 5 << 4
	for i := 54; i < len(f); i++ {
		f[i] = byte(i) ^ seed
	}
	ps := checksum.Fold(pseudo(20 + n))
	f[50], f[51] = byte(ps>>8), byte(ps)
	return f
}

// tcpChecksumOK verifies the TCP checksum of a tcpFrame.
func tcpChecksumOK(f []byte) bool {
	return checksum.Fold(checksum.Sum(f[34:], pseudo(len(f)-34))) == 0xffff
}

// pseudo is the pseudo-header sum of a tcpFrame's segment of l bytes.
func pseudo(l int) uint32 {
	return checksum.Pseudo(inet.AddrFrom4(inet.Addr4{10, 0, 0, 1}), inet.AddrFrom4(inet.Addr4{10, 0, 0, 2}), 6, l)
}

func TestMergeableReceive(t *testing.T) {
	r, got := newRigOn(t, tapDev(), virtio.NetConfig{})
	if n := r.dev.Avail(virtiomodel.RxQueue); n != 256 {
		t.Fatalf("large receive: ring of %d buffers, want 256", n)
	}
	gso := virtiomodel.NetHdr{Flags: virtiomodel.FlagNeedsCsum, GSOType: virtiomodel.GSOTCPv4, HdrLen: 54, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	var want [][]byte
	// Enough 64 KiB frames to go round the ring twice: the ones whose
	// buffers wrap at the end of the ring are gathered, the others lent
	// in place.
	for i := range 40 {
		var f []byte
		h := gso
		switch i % 4 {
		case 0:
			f = tcpFrame(65535-40, byte(i))
		case 1:
			f, h = tcpFrame(10, byte(i)), virtiomodel.NetHdr{}
		case 2:
			f = tcpFrame(5000+i, byte(i))
		case 3:
			f, h = tcpFrame(1460, byte(i)), virtiomodel.NetHdr{Flags: virtiomodel.FlagDataValid}
		}
		if err := r.dev.ReceiveHdr(f, h); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		want = append(want, f)
		r.net.Poll()
		if a := r.dev.Avail(virtiomodel.RxQueue); a != 256 {
			t.Fatalf("frame %d: ring refilled to %d buffers, want 256", i, a)
		}
	}
	if len(*got) != len(want) {
		t.Fatalf("%d frames delivered, want %d", len(*got), len(want))
	}
	for i, g := range *got {
		if !bytes.Equal(g.f, want[i]) {
			t.Fatalf("frame %d (%d bytes) arrived changed (%d bytes)", i, len(want[i]), len(g.f))
		}
		var wm netif.RxMeta
		switch i % 4 {
		case 0, 2:
			wm = netif.RxMeta{CsumVerified: true, SegSize: 1448}
		case 3:
			wm = netif.RxMeta{CsumVerified: true}
		}
		if g.meta != wm {
			t.Errorf("frame %d: meta %+v, want %+v", i, g.meta, wm)
		}
	}
	if g := r.net.Gathered(); g == 0 || g > 5 {
		t.Errorf("%d frames gathered; want a few (one per lap of the ring)", g)
	}
	if s := r.net.Stats(); s.RxFrames != 40 || s.RxErrors != 0 || s.RxDropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestMergeableLendsInPlace: a frame over consecutive buffers is handed up
// from the DMA buffers themselves, capped at its end.
func TestMergeableLendsInPlace(t *testing.T) {
	r, _ := newRigOn(t, tapDev(), virtio.NetConfig{})
	var seen []byte
	r.net.SetHandler(func(f []byte, _ netif.RxMeta) { seen = f })
	f := tcpFrame(10000, 1)
	r.dev.ReceiveHdr(f, virtiomodel.NetHdr{GSOType: virtiomodel.GSOTCPv4, GSOSize: 1448, Flags: virtiomodel.FlagDataValid})
	r.net.Poll()
	if len(seen) != len(f) || cap(seen) != len(f) || r.net.Gathered() != 0 {
		t.Fatalf("len %d cap %d gathered %d, want %d in place", len(seen), cap(seen), r.net.Gathered(), len(f))
	}
}

func TestReceiveMetaChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		dev  func() *virtiomodel.Device
		n    int // payload bytes
		hdr  virtiomodel.NetHdr
		ok   bool
		meta netif.RxMeta
	}{
		{"partial checksum", tapDev, 100, virtiomodel.NetHdr{Flags: virtiomodel.FlagNeedsCsum, CsumStart: 34, CsumOffset: 16}, true, netif.RxMeta{CsumVerified: true}},
		{"partial checksum past the end", tapDev, 100, virtiomodel.NetHdr{Flags: virtiomodel.FlagNeedsCsum, CsumStart: 150, CsumOffset: 16}, false, netif.RxMeta{}},
		{"verified checksum", tapDev, 100, virtiomodel.NetHdr{Flags: virtiomodel.FlagDataValid}, true, netif.RxMeta{CsumVerified: true}},
		{"verified checksum not negotiated: ignored", userDev, 100, virtiomodel.NetHdr{Flags: virtiomodel.FlagDataValid}, true, netif.RxMeta{}},
		{"partial checksum not negotiated", userDev, 100, virtiomodel.NetHdr{Flags: virtiomodel.FlagNeedsCsum, CsumStart: 34, CsumOffset: 16}, false, netif.RxMeta{}},
		{"TSO4 not negotiated", userDev, 100, virtiomodel.NetHdr{GSOType: virtiomodel.GSOTCPv4, GSOSize: 1448}, false, netif.RxMeta{}},
		{"UDP segmentation", tapDev, 100, virtiomodel.NetHdr{GSOType: virtiomodel.GSOUDP, GSOSize: 1448}, false, netif.RxMeta{}},
		{"ECN", tapDev, 100, virtiomodel.NetHdr{GSOType: virtiomodel.GSOTCPv4 | virtiomodel.GSOECN, GSOSize: 1448}, false, netif.RxMeta{}},
		{"TSO4 with no segment size", tapDev, 3000, virtiomodel.NetHdr{GSOType: virtiomodel.GSOTCPv4}, false, netif.RxMeta{}},
		{"TSO6", tapDev, 3000, virtiomodel.NetHdr{GSOType: virtiomodel.GSOTCPv6, GSOSize: 1428}, true, netif.RxMeta{SegSize: 1428}},
		{"large without segmentation", tapDev, 3000, virtiomodel.NetHdr{}, false, netif.RxMeta{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, got := newRigOn(t, tc.dev(), virtio.NetConfig{})
			if err := r.dev.ReceiveHdr(tcpFrame(tc.n, 0), tc.hdr); err != nil {
				t.Fatal(err)
			}
			r.net.Poll()
			if tc.ok != (len(*got) == 1) {
				t.Fatalf("delivered %d frames; want delivery %v", len(*got), tc.ok)
			}
			if tc.ok && (*got)[0].meta != tc.meta {
				t.Errorf("meta %+v, want %+v", (*got)[0].meta, tc.meta)
			}
			s := r.net.Stats()
			if !tc.ok && s.RxErrors+s.RxDropped != 1 {
				t.Errorf("refused frame not counted: %+v", s)
			}
			// The ring is whole again and a plain frame goes through.
			r.dev.ReceiveHdr(tcpFrame(10, 1), virtiomodel.NetHdr{})
			r.net.Poll()
			if n := len(*got); n == 0 || !bytes.Equal((*got)[n-1].f, tcpFrame(10, 1)) {
				t.Error("next frame not delivered")
			}
		})
	}
}

// TestMergeableMalformed feeds headers and used entries that break the
// mergeable-buffer rules: the driver drops and counts them, requeues the
// buffers and goes on.
func TestMergeableMalformed(t *testing.T) {
	r, got := newRigOn(t, tapDev(), virtio.NetConfig{RxQueueSize: 16})
	put := func(numBuffers uint16, extra int) {
		id, b, _, err := r.dev.PopOne(virtiomodel.RxQueue)
		if err != nil {
			t.Fatal(err)
		}
		virtiomodel.NetHdr{NumBuffers: numBuffers}.Put(b)
		r.dev.PushUsed(virtiomodel.RxQueue, uint32(id), 100)
		for range extra {
			id, _, _, _ := r.dev.PopOne(virtiomodel.RxQueue)
			r.dev.PushUsed(virtiomodel.RxQueue, uint32(id), 100)
		}
	}
	put(0, 0) // num_buffers 0
	put(5, 1) // claims 5 buffers, 2 used
	r.net.Poll()
	put(2, 0)                                    // claims 2 buffers, then
	r.dev.PushUsed(virtiomodel.RxQueue, 999, 10) // a continuation that is not ours
	r.net.Poll()
	if r.net.Malformed() < 4 {
		t.Errorf("malformed %d, want at least 4", r.net.Malformed())
	}
	if len(*got) != 0 {
		t.Fatalf("%d malformed frames delivered", len(*got))
	}
	if a := r.dev.Avail(virtiomodel.RxQueue); a != 16 {
		t.Fatalf("ring holds %d buffers after the bad entries, want 16", a)
	}
	f := tcpFrame(5000, 3)
	if err := r.dev.ReceiveHdr(f, virtiomodel.NetHdr{GSOType: virtiomodel.GSOTCPv4, GSOSize: 1448}); err != nil {
		t.Fatal(err)
	}
	r.net.Poll()
	if len(*got) != 1 || !bytes.Equal((*got)[0].f, f) {
		t.Fatal("good frame after bad entries not delivered intact")
	}
}

// tsoBuf is a Buf as the stack hands a TCP/IPv4 TSO segment down: the
// headers contiguous, the payload attached, a partial checksum and the
// segmentation request.
func tsoBuf(f []byte, mss int) *pkt.Buf {
	b := pkt.New(128+54, 128)
	copy(b.Append(54), f[:54])
	b.TrimFront(34)
	b.SetPartialChecksum(16)
	if mss > 0 {
		b.SetGSO(pkt.GSOTCPv4, mss, 20)
	}
	b.Prepend(34)
	b.Attach(f[54:])
	return b
}

func TestTransmitOffloads(t *testing.T) {
	r, _ := newRigOn(t, tapDev(), virtio.NetConfig{})
	big := tcpFrame(65535-40, 1)
	small := tcpFrame(500, 2)
	for _, tc := range []struct {
		f   []byte
		mss int
		hdr virtiomodel.NetHdr
	}{
		{big, 1448, virtiomodel.NetHdr{Flags: virtiomodel.FlagNeedsCsum, GSOType: virtiomodel.GSOTCPv4, HdrLen: 54, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}},
		{small, 1448, virtiomodel.NetHdr{Flags: virtiomodel.FlagNeedsCsum, CsumStart: 34, CsumOffset: 16}}, // one segment: no GSO
		{small, 0, virtiomodel.NetHdr{Flags: virtiomodel.FlagNeedsCsum, CsumStart: 34, CsumOffset: 16}},
	} {
		if err := r.net.Transmit(tsoBuf(tc.f, tc.mss)); err != nil {
			t.Fatalf("%d bytes: %v", len(tc.f), err)
		}
		sent, err := r.dev.Transmit(-1, true)
		if err != nil || len(sent) != 1 {
			t.Fatalf("device got %d frames, %v", len(sent), err)
		}
		if sent[0].Hdr != tc.hdr {
			t.Errorf("%d bytes: header %+v, want %+v", len(tc.f), sent[0].Hdr, tc.hdr)
		}
		if !bytes.Equal(sent[0].Frame, tc.f) {
			t.Errorf("%d bytes: frame changed", len(tc.f))
		}
	}
	if err := r.net.Transmit(tsoBuf(tcpFrame(65535-39, 1), 1448)); !errors.Is(err, netif.ErrTooBig) {
		t.Errorf("TSO frame over 64 KiB: %v", err)
	}
}

// TestTransmitOffloadFallback: under user networking (no CSUM, no
// HOST_TSO) a partial checksum is completed by the driver and a large
// frame is refused.
func TestTransmitOffloadFallback(t *testing.T) {
	r, _ := newRigOn(t, userDev(), virtio.NetConfig{})
	f := tcpFrame(1000, 5)
	if err := r.net.Transmit(tsoBuf(f, 0)); err != nil {
		t.Fatal(err)
	}
	sent, _ := r.dev.Transmit(-1, true)
	if len(sent) != 1 || sent[0].Hdr != (virtiomodel.NetHdr{}) {
		t.Fatalf("sent %+v", sent)
	}
	if !tcpChecksumOK(sent[0].Frame) {
		t.Error("checksum not completed in software")
	}
	if err := r.net.Transmit(tsoBuf(tcpFrame(3000, 1), 1448)); !errors.Is(err, netif.ErrTooBig) {
		t.Errorf("TSO frame without HOST_TSO4: %v", err)
	}
}

// TestTransmitRingOfTSOFrames fills the transmit DMA ring with 64 KiB
// frames the device does not complete, then completes them out of order:
// a descriptor is free at once, the space of a frame only once the frames
// before it are done.
func TestTransmitRingOfTSOFrames(t *testing.T) {
	r, _ := newRigOn(t, tapDev(), virtio.NetConfig{})
	big := tcpFrame(65535-40, 1)
	n := 0
	for ; n < 64; n++ {
		if err := r.net.Transmit(tsoBuf(big, 1448)); err != nil {
			if !errors.Is(err, netif.ErrBusy) {
				t.Fatal(err)
			}
			break
		}
	}
	if n < 2 || n >= 64 {
		t.Fatalf("%d TSO frames in flight before ErrBusy", n)
	}
	sent, _ := r.dev.Transmit(-1, false)
	if len(sent) != n {
		t.Fatalf("device took %d of %d", len(sent), n)
	}
	// The second completes first: no room yet.
	r.dev.PushUsed(virtiomodel.TxQueue, uint32(sent[1].ID), 0)
	if err := r.net.Transmit(tsoBuf(big, 1448)); !errors.Is(err, netif.ErrBusy) {
		t.Fatalf("space freed out of order: %v", err)
	}
	// Small frames still fit in the gap at the end? Whatever the layout,
	// once the first completes, two big frames' worth is free.
	r.dev.PushUsed(virtiomodel.TxQueue, uint32(sent[0].ID), 0)
	for i := range 2 {
		if err := r.net.Transmit(tsoBuf(big, 1448)); err != nil {
			t.Fatalf("after two completions, frame %d: %v", i, err)
		}
	}
	again, _ := r.dev.Transmit(-1, true)
	for i, s := range again {
		if !bytes.Equal(s.Frame, big) {
			t.Fatalf("frame %d changed in the ring", i)
		}
	}
	rooms := 0
	r.net.SetTxRoom(func() { rooms++ })
	for _, s := range sent[2:] {
		r.dev.PushUsed(virtiomodel.TxQueue, uint32(s.ID), 0)
	}
	// The refusals asked for one interrupt, once half of the frames in
	// flight were done; event index keeps every other one off.
	if r.dev.Interrupts[virtiomodel.TxQueue] != 1 {
		t.Errorf("%d transmit interrupts, want the one asked for after the refusal", r.dev.Interrupts[virtiomodel.TxQueue])
	}
	r.net.Poll()
	if rooms != 1 {
		t.Errorf("room reported %d times, want 1", rooms)
	}
	for _, s := range again {
		r.dev.PushUsed(virtiomodel.TxQueue, uint32(s.ID), 0)
	}
	if r.dev.Interrupts[virtiomodel.TxQueue] != 1 {
		t.Errorf("%d transmit interrupts after the room was reported, want none more", r.dev.Interrupts[virtiomodel.TxQueue]-1)
	}
}

// TestEventIdx: with event index the device interrupts once per batch of
// received frames, never for transmit completions, and the driver
// notifies only when the device's avail_event asks.
func TestEventIdx(t *testing.T) {
	r, got := newRigOn(t, tapDev(), virtio.NetConfig{RxQueueSize: 64})
	rx, tx := virtiomodel.RxQueue, virtiomodel.TxQueue
	for round := 1; round <= 3; round++ {
		for i := range 10 {
			r.dev.Receive(tcpFrame(100+i, byte(round)))
		}
		if r.dev.Interrupts[rx] != round {
			t.Fatalf("round %d: %d receive interrupts, want one per batch", round, r.dev.Interrupts[rx])
		}
		r.net.HandleInterrupt()
		if len(*got) != 10*round {
			t.Fatalf("round %d: %d frames", round, len(*got))
		}
	}
	// The device has buffers to spare and asks for no notification:
	// refills go unannounced.
	before := r.dev.Notifies[rx]
	r.dev.SetAvailEvent(rx, r.dev.UsedEvent(rx)+1000)
	r.dev.Receive(tcpFrame(10, 0))
	r.net.Poll()
	if r.dev.Notifies[rx] != before {
		t.Error("refill notified although avail_event did not ask")
	}

	r.dev.NotifyOnNext(tx)
	before = r.dev.Notifies[tx]
	for range 5 {
		if err := r.net.Transmit(buf(frame(1, 60), 12)); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.dev.Notifies[tx] - before; n != 1 {
		t.Errorf("%d notifications for 5 frames; the device asked for one", n)
	}
	r.dev.Transmit(-1, true)
	r.dev.NotifyOnNext(tx)
	r.net.Transmit(buf(frame(1, 60), 12))
	if n := r.dev.Notifies[tx] - before; n != 2 {
		t.Errorf("%d notifications after the device asked again, want 2", n)
	}
	for range 300 {
		r.dev.Transmit(-1, true)
		r.net.Transmit(buf(frame(1, 60), 12))
	}
	if r.dev.Interrupts[tx] != 0 {
		t.Errorf("%d transmit interrupts", r.dev.Interrupts[tx])
	}
}

// TestInterruptsOffWhilePolling: without event index the driver sets
// VIRTQ_AVAIL_F_NO_INTERRUPT while it polls and clears it after.
func TestInterruptsOffWhilePolling(t *testing.T) {
	dev := userDev()
	r, _ := newRigOn(t, dev, virtio.NetConfig{Disable: virtio.FeatureEventIdx})
	var flagsInHandler uint16
	r.net.SetHandler(func([]byte, netif.RxMeta) { flagsInHandler = dev.AvailFlags(virtiomodel.RxQueue) })
	r.dev.Receive(tcpFrame(10, 0))
	r.net.HandleInterrupt()
	if flagsInHandler&1 == 0 {
		t.Error("interrupts on while the handler runs")
	}
	if dev.AvailFlags(virtiomodel.RxQueue)&1 != 0 {
		t.Error("interrupts still off after Poll")
	}
}

func TestOffloadNoAllocations(t *testing.T) {
	r, _ := newRigOn(t, tapDev(), virtio.NetConfig{})
	r.net.SetHandler(func([]byte, netif.RxMeta) {})
	big := tcpFrame(65535-40, 1)
	h := virtiomodel.NetHdr{Flags: virtiomodel.FlagNeedsCsum, GSOType: virtiomodel.GSOTCPv4, HdrLen: 54, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	r.dev.ReceiveHdr(big, h) // the first gather allocates its buffer
	r.net.Poll()
	if a := testing.AllocsPerRun(50, func() {
		r.dev.ReceiveHdr(big, h)
		r.net.Poll()
	}); a != 0 {
		t.Errorf("large receive: %v allocs per frame", a)
	}
	b := tsoBuf(big, 1448)
	if a := testing.AllocsPerRun(50, func() {
		if err := r.net.Transmit(b); err != nil {
			t.Fatal(err)
		}
		id, _, _, _ := r.dev.PopOne(virtiomodel.TxQueue)
		r.dev.PushUsed(virtiomodel.TxQueue, uint32(id), 0)
	}); a != 0 {
		t.Errorf("TSO transmit: %v allocs per frame", a)
	}
}

func TestParseOffloads(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"", 0, true},
		{"all", virtio.NetOffloadFeatures, true},
		{"csum", virtio.FeatureNetCsum, true},
		{" host_tso4 , event_idx,", virtio.FeatureNetHostTSO4 | virtio.FeatureEventIdx, true},
		{"guest_csum,guest_tso4,guest_tso6,mrg_rxbuf,host_tso6", virtio.FeatureNetGuestCsum | virtio.FeatureNetGuestTSO4 | virtio.FeatureNetGuestTSO6 | virtio.FeatureNetMrgRxbuf | virtio.FeatureNetHostTSO6, true},
		{"tso", 0, false},
		{"csum,ufo", 0, false},
	} {
		got, err := virtio.ParseOffloads(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseOffloads(%q) = %#x, %v; want %#x, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if s := virtio.OffloadNames(virtio.NetOffloadFeatures | virtio.FeatureNetMAC); s != "csum,guest_csum,host_tso4,host_tso6,guest_tso4,guest_tso6,mrg_rxbuf,event_idx" {
		t.Errorf("OffloadNames(all) = %q", s)
	}
	if s := virtio.OffloadNames(virtio.FeatureNetMAC); s != "none" {
		t.Errorf("OffloadNames(none) = %q", s)
	}
}

// TestSmallDMAMemory: on a machine with little DMA memory the driver takes
// smaller rings rather than fail, and every offload still works.
func TestSmallDMAMemory(t *testing.T) {
	for _, size := range []int{4 << 20, 800 << 10, 450 << 10} {
		dev := virtiomodel.NewNetTAP(virtiomodel.NewMem(size))
		r, got := newRigOn(t, dev, virtio.NetConfig{})
		t.Logf("%d KiB of DMA memory: %d receive buffers", size>>10, dev.Avail(virtiomodel.RxQueue))
		big := tcpFrame(65535-40, 1)
		for range 3 {
			if err := r.net.Transmit(tsoBuf(big, 1448)); err != nil {
				t.Fatalf("%d KiB: TSO transmit: %v", size>>10, err)
			}
			if sent, _ := r.dev.Transmit(-1, true); len(sent) != 1 || !bytes.Equal(sent[0].Frame, big) {
				t.Fatalf("%d KiB: TSO frame not sent whole", size>>10)
			}
			if err := r.dev.ReceiveHdr(big, virtiomodel.NetHdr{GSOType: virtiomodel.GSOTCPv4, GSOSize: 1448}); err != nil {
				t.Fatal(err)
			}
			r.net.Poll()
		}
		if len(*got) != 3 || !bytes.Equal((*got)[2].f, big) {
			t.Fatalf("%d KiB: %d large frames received", size>>10, len(*got))
		}
	}
}

// TestBatchMarksMore: the frames one Poll finds on the used ring are a
// batch: each but the last is marked RxMeta.More; a frame the driver
// drops after one marked More is replaced by a nil frame ending the
// batch.
func TestBatchMarksMore(t *testing.T) {
	r, _ := newRigOn(t, userDev(), virtio.NetConfig{})
	var got []bool
	var nils int
	r.net.SetHandler(func(f []byte, m netif.RxMeta) {
		if f == nil {
			nils++
			return
		}
		got = append(got, m.More)
	})
	for i := range 3 {
		r.dev.Receive(tcpFrame(10, byte(i)))
	}
	r.net.Poll()
	if want := []bool{true, true, false}; !slices.Equal(got, want) {
		t.Errorf("More of a batch of 3 = %v, want %v", got, want)
	}
	got = got[:0]
	r.dev.Receive(tcpFrame(10, 0))
	r.dev.Receive(make([]byte, 6)) // a runt: dropped
	r.net.Poll()
	if want := []bool{true}; !slices.Equal(got, want) || nils != 1 {
		t.Errorf("a frame then a runt: More %v and %d nil frames, want %v and 1", got, nils, want)
	}
}
