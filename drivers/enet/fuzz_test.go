package enet

import (
	"testing"

	"github.com/mirago/mirago/stack/netif"
)

// FuzzReceive feeds arbitrary frames, and rejected ones, through the drain
// loop: nothing panics, every frame of at least a header is handed up
// unchanged, and the counters add up.
func FuzzReceive(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add(make([]byte, 13), uint8(1))
	f.Add(frame(60, 7), uint8(2))
	f.Add(frame(1520, 1), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		p := &fakePort{}
		d := newDevice(p, testMAC)
		// Cut data into frames at every split-th byte; a zero byte at a
		// cut stands for a frame the MAC rejected.
		step := int(split%64) + 1
		var want, runts, rejected int
		for len(data) > 0 {
			n := min(step, len(data))
			if data[0] == 0 {
				p.rxq = append(p.rxq, nil)
				rejected++
			} else {
				p.rxq = append(p.rxq, data[:n])
				if n >= netif.EthernetHeaderLen {
					want++
				} else {
					runts++
				}
			}
			data = data[n:]
			step = step*3%97 + 1
		}
		got := 0
		d.SetHandler(func(f []byte, _ netif.RxMeta) {
			if len(f) < netif.EthernetHeaderLen {
				t.Fatalf("runt of %d bytes handed up", len(f))
			}
			got++
		})
		for d.poll(rxBudget) {
		}
		s := d.Stats()
		if got != want || s.RxFrames != uint64(want) || s.RxDropped != uint64(runts) || s.RxErrors != uint64(rejected) {
			t.Fatalf("handed up %d, want %d; stats %+v; %d runts, %d rejected", got, want, s, runts, rejected)
		}
	})
}
