package arp

import (
	"testing"

	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

func TestNoAllocsInSteadyState(t *testing.T) {
	h := newHarness(t, Config{}).withOurIP()
	_ = h.output(ipGW, 1)
	h.input(reply(macGW, ipGW))
	h.dev.record = false
	h.mu.Lock()
	defer h.mu.Unlock()
	b := pkt.New(1600, h.arp.Headroom())
	rep := reply(macGW, ipGW)
	req := request(macGW, ipGW, ipUs)
	tests := []struct {
		name string
		f    func()
	}{
		{"resolved Output", func() {
			b.Reset(h.arp.Headroom())
			b.Append(1400)
			if err := h.arp.Output(ipGW, b); err != nil {
				t.Fatal(err)
			}
		}},
		{"reply input", func() { h.eth.Input(rep, netif.RxMeta{}) }},
		{"request input and reply", func() { h.eth.Input(req, netif.RxMeta{}) }},
	}
	for _, tc := range tests {
		if n := testing.AllocsPerRun(1000, tc.f); n != 0 {
			t.Errorf("%s: %v allocations per run", tc.name, n)
		}
	}
	if s := h.arp.StatsLocked(); s.RepliesSent < 1000 || s.RepliesReceived < 1000 {
		t.Fatalf("the measured paths did not run: %+v", s)
	}
}

func TestNoAllocsWhileQueueing(t *testing.T) {
	h := newHarness(t, Config{}).withOurIP()
	h.dev.record = false
	h.mu.Lock()
	defer h.mu.Unlock()
	b := pkt.New(1600, h.arp.Headroom())
	b.Append(100)
	// Warm the pending slots, then queue repeatedly.
	for i := 0; i < 8; i++ {
		_ = h.arp.Output(ipGW, b)
	}
	if n := testing.AllocsPerRun(1000, func() { _ = h.arp.Output(ipGW, b) }); n != 0 {
		t.Errorf("pending Output: %v allocations per run", n)
	}
}
