// Randomised hostile-device test: malformed used entries mixed with traffic.

package virtio_test

import (
	"math/rand/v2"
	"testing"

	"github.com/mirago/mirago/drivers/virtio"
	"github.com/mirago/mirago/drivers/virtio/internal/virtiomodel"
)

// TestHostileDevice mixes good traffic with random used-ring entries (ids
// and lengths anywhere in uint32) on both queues, with the plain feature
// set and with QEMU's TAP offloads (mergeable buffers, whose stale
// headers then claim any number of buffers). The driver must never panic,
// must keep delivering good frames and must keep the ring usable.
func TestHostileDevice(t *testing.T) {
	for seed := range uint64(40) {
		rnd := rand.New(rand.NewPCG(seed, 1))
		r := newRig(t, virtio.NetConfig{RxQueueSize: 16, TxQueueSize: 8}, func(d *virtiomodel.Device) {
			if seed%2 == 1 {
				d.Features |= virtiomodel.QEMUTAPFeatures
			}
		})
		for step := range 500 {
			switch rnd.IntN(6) {
			case 0:
				r.dev.PushUsed(virtiomodel.RxQueue, randU32(rnd), randU32(rnd))
			case 1:
				r.dev.PushUsed(virtiomodel.TxQueue, randU32(rnd), randU32(rnd))
			case 2:
				r.dev.Receive(frame(step, 14+rnd.IntN(1500)))
			case 3:
				r.net.Transmit(buf(frame(step, 14+rnd.IntN(1500)), 12))
			case 4:
				r.dev.Transmit(rnd.IntN(3), rnd.IntN(2) == 0)
			case 5:
				r.net.HandleInterrupt()
			}
		}
		// Drain and check the device can still move a frame both ways.
		r.dev.Transmit(-1, true)
		for r.net.Poll() > 0 {
		}
		before := len(r.got)
		if err := r.dev.Receive(frame(1, 64)); err != nil {
			t.Fatalf("seed %d: receive ring unusable: %v", seed, err)
		}
		r.net.Poll()
		if len(r.got) == before {
			t.Fatalf("seed %d: good frame not delivered", seed)
		}
	}
}

func randU32(rnd *rand.Rand) uint32 {
	if rnd.IntN(2) == 0 {
		return uint32(rnd.IntN(40)) // near the valid range
	}
	return rnd.Uint32()
}
