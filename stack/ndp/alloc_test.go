package ndp

import (
	"testing"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/pkt"
)

func TestNoAllocsInSteadyState(t *testing.T) {
	h := newHarness(t, Config{}).started()
	_, _, raMsg := icmpOf(t, goldenRA)
	h.input(llR, inet.IPv6AllNodes, raMsg)
	h.output(llUs, llN, 1)
	h.input(llN, llUs, na(llN, true, true, false, macN))
	h.output(llUs, remote, 1)
	h.input(llR, llUs, na(llR, true, true, true, macR))
	h.dev.record = false
	h.mu.Lock()
	defer h.mu.Unlock()
	b := pkt.New(1600, h.nd.Headroom())
	send := func(dst inet.Addr) {
		b.Reset(h.nd.Headroom())
		m := b.Append(ipv6.HeaderLen + 1200)
		f := ipv6.Fields{PayloadLen: 1200, NextHeader: 59, HopLimit: 64, Src: llUs, Dst: dst}
		f.Encode(m)
		if err := h.nd.Output(dst, b); err != nil {
			t.Fatal(err)
		}
	}
	sn := inet.SolicitedNode(llUs)
	nsMsg, naMsg := ns(llUs, macN), na(llN, true, false, false, macN)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Output to a neighbor", func() { send(llN) }},
		{"Output through the router", func() { send(remote) }},
		{"solicitation and answer", func() { h.nd.Input(llN, sn, 255, false, nsMsg) }},
		{"advertisement", func() { h.nd.Input(llN, llUs, 255, false, naMsg) }},
		{"router advertisement", func() { h.nd.Input(llR, inet.IPv6AllNodes, 255, false, raMsg) }},
		{"multicast Output", func() { send(inet.IPv6AllNodes) }},
	} {
		if n := testing.AllocsPerRun(1000, tc.f); n != 0 {
			t.Errorf("%s: %v allocations per run", tc.name, n)
		}
	}
	if s := h.nd.StatsLocked(); s.NASent < 1000 || s.NAReceived < 1000 || s.RAReceived < 1000 {
		t.Fatalf("the measured paths did not run: %+v", s)
	}
}

func TestNoAllocsWhileQueueing(t *testing.T) {
	h := newHarness(t, Config{}).started()
	h.dev.record = false
	h.mu.Lock()
	defer h.mu.Unlock()
	b := pkt.New(1600, h.nd.Headroom())
	b.Append(100)
	for range 8 {
		_ = h.nd.Output(llN, b)
	}
	if n := testing.AllocsPerRun(1000, func() { _ = h.nd.Output(llN, b) }); n != 0 {
		t.Errorf("pending Output: %v allocations per run", n)
	}
}
