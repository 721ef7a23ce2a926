package arp

import (
	"errors"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

func TestResolveWithReply(t *testing.T) {
	h := newHarness(t, Config{}).withOurIP()
	if err := h.output(ipGW, 1, 2, 3); err != nil {
		t.Fatal(err)
	}
	if err := h.output(ipGW, 4, 5); err != nil {
		t.Fatal(err)
	}
	sent := h.take()
	if len(sent) != 1 {
		t.Fatalf("sent %d frames, want 1 request", len(sent))
	}
	wantARP(t, sent[0], inet.BroadcastMAC, Fields{OpRequest, macUs, ipUs, inet.MAC{}, ipGW})
	if s := h.stats(); s.Pending != 2 || s.RequestsSent != 1 {
		t.Fatalf("stats %+v", s)
	}
	if _, ok := h.lookup(ipGW); ok {
		t.Fatal("incomplete entry resolved by Lookup")
	}
	h.input(reply(macGW, ipGW))
	sent = h.take()
	if len(sent) != 2 {
		t.Fatalf("flushed %d frames, want 2", len(sent))
	}
	wantIPv4(t, sent[0], macGW, []byte{1, 2, 3})
	wantIPv4(t, sent[1], macGW, []byte{4, 5})
	if err := h.output(ipGW, 6); err != nil {
		t.Fatal(err)
	}
	sent = h.take()
	if len(sent) != 1 {
		t.Fatalf("sent %d frames after resolution, want 1", len(sent))
	}
	wantIPv4(t, sent[0], macGW, []byte{6})
	if s := h.stats(); s.Pending != 0 || s.PendingDrops != 0 || s.CacheSize != 1 || s.RepliesReceived != 1 {
		t.Fatalf("stats %+v", s)
	}
	// The pending slots are free again: advancing past the retry time
	// sends nothing and fails nothing.
	h.clk.Advance(5 * time.Second)
	if len(h.take()) != 0 || len(h.unreachable) != 0 {
		t.Fatal("resolved entry kept retrying")
	}
}

func TestRequestWithoutAddressIsProbeStyle(t *testing.T) {
	h := newHarness(t, Config{})
	_ = h.output(ipGW, 1)
	sent := h.take()
	if len(sent) != 1 {
		t.Fatalf("sent %d frames", len(sent))
	}
	wantARP(t, sent[0], inet.BroadcastMAC, Fields{OpRequest, macUs, inet.IPv4Unspecified, inet.MAC{}, ipGW})
}

func TestRetriesThenFailure(t *testing.T) {
	h := newHarness(t, Config{MaxRetries: 3}).withOurIP()
	for i := 0; i < 3; i++ {
		if err := h.output(ipGW, byte(i)); err != nil {
			t.Fatal(err)
		}
	}
	var reqs []sentFrame
	for step := 0; step < 3000; step++ { // 3s in 1ms steps
		reqs = append(reqs, h.take()...)
		h.clk.Advance(time.Millisecond)
	}
	reqs = append(reqs, h.take()...)
	if len(reqs) != 3 {
		t.Fatalf("sent %d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		wantARP(t, r, inet.BroadcastMAC, Fields{OpRequest, macUs, ipUs, inet.MAC{}, ipGW})
		if i > 0 && r.at.Sub(reqs[i-1].at) < time.Second {
			t.Fatalf("requests %d and %d only %v apart", i-1, i, r.at.Sub(reqs[i-1].at))
		}
	}
	if len(h.unreachable) != 1 || h.unreachable[0] != ipGW {
		t.Fatalf("OnUnreachable calls %v", h.unreachable)
	}
	s := h.stats()
	if s.ResolutionFailures != 1 || s.PendingDrops != 3 || s.Pending != 0 || s.CacheSize != 0 {
		t.Fatalf("stats %+v", s)
	}
	// A late reply is not aimed at a cached address: nothing is sent.
	h.input(reply(macGW, ipGW))
	if len(h.take()) != 0 {
		t.Fatal("dropped packets were sent after failure")
	}
	if _, ok := h.lookup(ipGW); ok {
		t.Fatal("late unsolicited reply created an entry")
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, Config{RequestInterval: time.Millisecond}).withOurIP() // raised to 1s
	for i := 0; i < 100; i++ {
		_ = h.output(ipGW, byte(i))
		h.clk.Advance(9 * time.Millisecond) // 900ms in all
	}
	if n := len(h.take()); n != 1 {
		t.Fatalf("sent %d requests within 1s, want 1", n)
	}
	h.clk.Advance(100 * time.Millisecond)
	if n := len(h.take()); n != 1 {
		t.Fatalf("sent %d requests in the second second, want 1", n)
	}
}

func TestPendingPerAddressKeepsLatest(t *testing.T) {
	h := newHarness(t, Config{PendingPerAddr: 4}).withOurIP()
	for i := 0; i < 10; i++ {
		if err := h.output(ipGW, byte(i)); err != nil {
			t.Fatal(err)
		}
	}
	h.take()
	if s := h.stats(); s.Pending != 4 || s.PendingDrops != 6 {
		t.Fatalf("stats %+v", s)
	}
	h.input(reply(macGW, ipGW))
	sent := h.take()
	if len(sent) != 4 {
		t.Fatalf("flushed %d, want 4", len(sent))
	}
	for k, s := range sent {
		wantIPv4(t, s, macGW, []byte{byte(6 + k)}) // RFC 1122 §2.3.2.2: the latest survive
	}
}

func TestPendingGlobalBound(t *testing.T) {
	h := newHarness(t, Config{PendingPerAddr: 4, PendingTotal: 10}).withOurIP()
	var full int
	for a := 0; a < 5; a++ {
		for i := 0; i < 3; i++ {
			if err := h.output(inet.Addr4{10, 0, 2, byte(100 + a)}, byte(i)); errors.Is(err, ErrQueueFull) {
				full++
			} else if err != nil {
				t.Fatal(err)
			}
		}
	}
	if s := h.stats(); full != 5 || s.Pending != 10 || s.PendingDrops != 5 {
		t.Fatalf("ErrQueueFull %d times, stats %+v", full, s)
	}
}

func TestOutputTooBig(t *testing.T) {
	h := newHarness(t, Config{}).withOurIP()
	h.mu.Lock()
	defer h.mu.Unlock()
	b := newBuf(h, 1501)
	if err := h.arp.Output(ipGW, b); !errors.Is(err, ErrTooBig) {
		t.Fatalf("err %v", err)
	}
}

func TestOutputWithoutResolution(t *testing.T) {
	subnet := inet.MustParseAddr4("10.0.2.255")
	tests := []struct {
		name string
		to   inet.Addr4
		mac  inet.MAC
	}{
		{"limited broadcast", inet.IPv4Broadcast, inet.BroadcastMAC},
		{"subnet broadcast", subnet, inet.BroadcastMAC},
		{"multicast", inet.MustParseAddr4("239.129.2.3"), inet.MAC{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{IsBroadcast: func(a inet.Addr4) bool { return a == subnet }})
			if err := h.output(tc.to, 9); err != nil {
				t.Fatal(err)
			}
			sent := h.take()
			if len(sent) != 1 {
				t.Fatalf("sent %d frames", len(sent))
			}
			wantIPv4(t, sent[0], tc.mac, []byte{9})
		})
	}
	h := newHarness(t, Config{})
	if err := h.output(inet.IPv4Unspecified, 1); !errors.Is(err, ErrAddr) {
		t.Fatalf("unspecified next hop: %v", err)
	}
}
