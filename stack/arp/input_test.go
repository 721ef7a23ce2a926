package arp

import (
	"bytes"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/inet"
)

// withARP returns an Ethernet frame from macGW carrying body.
func withARP(body []byte) []byte {
	b := append(bytes.Clone(goldenRequest[:ethernet.HeaderLen]), body...)
	return b
}

func TestMalformedDroppedAndCounted(t *testing.T) {
	mc := inet.MAC{0x01, 0x00, 0x5e, 0, 0, 1}
	tests := []struct {
		name  string
		frame []byte
		count func(Stats) uint64
	}{
		{"empty", withARP(nil), func(s Stats) uint64 { return s.DropShort }},
		{"short body", withARP(malformed(-1, 0, 20)), func(s Stats) uint64 { return s.DropShort }},
		{"hardware type", withARP(malformed(1, 6, -1)), func(s Stats) uint64 { return s.DropHardwareType }},
		{"protocol type", withARP(malformed(2, 0x86, -1)), func(s Stats) uint64 { return s.DropProtocolType }},
		{"hlen", withARP(malformed(4, 8, -1)), func(s Stats) uint64 { return s.DropHardwareLen }},
		{"plen", withARP(malformed(5, 16, -1)), func(s Stats) uint64 { return s.DropProtocolLen }},
		{"opcode", withARP(malformed(7, 3, -1)), func(s Stats) uint64 { return s.DropOp }},
		{"sender mac multicast", request(mc, ipGW, ipUs), func(s Stats) uint64 { return s.DropSenderMAC }},
		{"sender mac broadcast", request(inet.BroadcastMAC, ipGW, ipUs), func(s Stats) uint64 { return s.DropSenderMAC }},
		{"sender mac zero", request(inet.MAC{}, ipGW, ipUs), func(s Stats) uint64 { return s.DropSenderMAC }},
		{"sender ip broadcast", request(macGW, inet.IPv4Broadcast, ipUs), func(s Stats) uint64 { return s.DropSenderIP }},
		{"sender ip multicast", request(macGW, inet.MustParseAddr4("224.0.0.1"), ipUs), func(s Stats) uint64 { return s.DropSenderIP }},
		{"sender ip class E", request(macGW, inet.MustParseAddr4("240.0.0.1"), ipUs), func(s Stats) uint64 { return s.DropSenderIP }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}).withOurIP()
			// Multicast/zero sender MACs must not be filtered by Ethernet
			// first: put a valid source in the Ethernet header.
			copy(tc.frame[6:12], macGW[:])
			h.input(tc.frame)
			s := h.stats()
			if tc.count(s) != 1 {
				t.Fatalf("not counted: %+v", s)
			}
			if s.RequestsReceived+s.RepliesReceived != 0 || s.CacheSize != 0 {
				t.Fatalf("malformed packet was processed: %+v", s)
			}
			if sent := h.take(); len(sent) != 0 {
				t.Fatalf("answered a malformed packet: % x", sent[0].b)
			}
		})
	}
}

func TestAnswerRequestForUs(t *testing.T) {
	h := newHarness(t, Config{}).withOurIP()
	h.input(goldenRequest)
	sent := h.take()
	if len(sent) != 1 || !bytes.Equal(sent[0].b, goldenReply) {
		t.Fatalf("sent %d frames, want the golden reply", len(sent))
	}
	// RFC 826: the requester is learned since it talked to us.
	if mac, ok := h.lookup(ipGW); !ok || mac != macGW {
		t.Fatalf("requester not learned: %v %v", mac, ok)
	}
	if s := h.stats(); s.RequestsReceived != 1 || s.RepliesSent != 1 || s.Learned != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestIgnoreRequestForOthers(t *testing.T) {
	h := newHarness(t, Config{}).withOurIP()
	h.input(request(macPeer, ipPeer, ipGW))
	if sent := h.take(); len(sent) != 0 {
		t.Fatalf("answered a request for another host")
	}
	if _, ok := h.lookup(ipPeer); ok {
		t.Fatal("learned from a request not aimed at us")
	}
	if s := h.stats(); s.Ignored != 1 || s.CacheSize != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNoAnswerWithoutAddress(t *testing.T) {
	h := newHarness(t, Config{})
	h.input(goldenRequest)
	if sent := h.take(); len(sent) != 0 {
		t.Fatal("answered with no address configured")
	}
}

func TestAnswerProbe(t *testing.T) {
	// RFC 5227 §2.1.1: a probe has sender IP 0.0.0.0; the owner answers it
	// and learns nothing.
	h := newHarness(t, Config{}).withOurIP()
	h.input(request(macPeer, inet.IPv4Unspecified, ipUs))
	sent := h.take()
	if len(sent) != 1 {
		t.Fatalf("sent %d frames, want 1 reply", len(sent))
	}
	wantARP(t, sent[0], macPeer, Fields{OpReply, macUs, ipUs, macPeer, inet.IPv4Unspecified})
	if s := h.stats(); s.CacheSize != 0 {
		t.Fatalf("learned from a probe: %+v", s)
	}
}

func TestGratuitousOnAddIP(t *testing.T) {
	h := newHarness(t, Config{})
	h.mu.Lock()
	h.arp.AddIPLocked(ipUs)
	h.arp.AddIPLocked(ipUs) // again: no second address, no second announcement
	ips := h.arp.IPsLocked()
	h.mu.Unlock()
	sent := h.take()
	if len(sent) != 1 || !bytes.Equal(sent[0].b, goldenAnnounce) {
		t.Fatalf("sent %d frames, want the golden announcement", len(sent))
	}
	if len(ips) != 1 || ips[0] != ipUs || h.stats().GratuitousSent != 1 {
		t.Fatalf("IPs %v stats %+v", ips, h.stats())
	}
	h.clk.Advance(AnnounceInterval - time.Millisecond)
	if n := len(h.take()); n != 0 {
		t.Fatalf("second announcement %d early", n)
	}
	h.clk.Advance(time.Millisecond)
	sent = h.take()
	if len(sent) != 1 || !bytes.Equal(sent[0].b, goldenAnnounce) {
		t.Fatalf("sent %d frames, want the second announcement (RFC 5227 §2.3)", len(sent))
	}
	h.clk.Advance(time.Minute)
	if n := len(h.take()); n != 0 || h.stats().GratuitousSent != AnnounceNum {
		t.Fatalf("%d extra announcements", n)
	}
	h.mu.Lock()
	h.arp.RemoveIPLocked(ipUs)
	h.mu.Unlock()
	h.input(goldenRequest)
	if sent := h.take(); len(sent) != 0 {
		t.Fatal("answered for a removed address")
	}
}

func TestNoCacheFromUnsolicited(t *testing.T) {
	tests := []struct {
		name                 string
		frame                []byte
		unsolicited, ignored uint64
	}{
		{"unsolicited reply", reply(macPeer, ipPeer), 1, 0},
		{"unsolicited reply, broadcast", arpFrame(inet.BroadcastMAC, Fields{OpReply, macPeer, ipPeer, inet.BroadcastMAC, ipUs}), 1, 0},
		{"unsolicited reply from 0.0.0.0", reply(macPeer, inet.IPv4Unspecified), 1, 0},
		{"gratuitous request", request(macPeer, ipPeer, ipPeer), 0, 1},
		{"gratuitous reply", arpFrame(inet.BroadcastMAC, Fields{OpReply, macPeer, ipPeer, inet.BroadcastMAC, ipPeer}), 0, 1},
		{"reply to another host", arpFrame(inet.BroadcastMAC, Fields{OpReply, macPeer, ipPeer, macGW, ipGW}), 0, 1},
		{"request for other", request(macPeer, ipPeer, ipGW), 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}).withOurIP()
			h.input(tc.frame)
			s := h.stats()
			if _, ok := h.lookup(ipPeer); ok || s.CacheSize != 0 || s.Learned != 0 {
				t.Fatalf("created an entry: %+v", s)
			}
			if s.DropUnsolicited != tc.unsolicited || s.Ignored != tc.ignored {
				t.Fatalf("DropUnsolicited %d Ignored %d, want %d and %d", s.DropUnsolicited, s.Ignored, tc.unsolicited, tc.ignored)
			}
			if sent := h.take(); len(sent) != 0 {
				t.Fatalf("answered: % x", sent[0].b)
			}
		})
	}
}

// An unsolicited reply (ARP spoofing) is counted and not cached: a later
// resolution of the same address still asks, and only the solicited reply
// resolves it.
func TestUnsolicitedReplyCountedNotCached(t *testing.T) {
	h := newHarness(t, Config{}).withOurIP()
	spoof := inet.MAC{0x02, 0xba, 0xd0, 0, 0, 1}
	h.input(reply(spoof, ipGW))
	if s := h.stats(); s.DropUnsolicited != 1 || s.RepliesReceived != 1 || s.CacheSize != 0 {
		t.Fatalf("stats %+v", s)
	}
	if _, ok := h.lookup(ipGW); ok {
		t.Fatal("unsolicited reply entered the cache")
	}
	if err := h.output(ipGW, 1, 2, 3); err != nil {
		t.Fatal(err)
	}
	sent := h.take()
	if len(sent) != 1 {
		t.Fatalf("sent %d frames, want 1 request", len(sent))
	}
	wantARP(t, sent[0], inet.BroadcastMAC, Fields{OpRequest, macUs, ipUs, inet.MAC{}, ipGW})
	h.input(reply(macGW, ipGW)) // solicited: a request is pending
	sent = h.take()
	if len(sent) != 1 {
		t.Fatalf("flushed %d frames, want 1", len(sent))
	}
	wantIPv4(t, sent[0], macGW, []byte{1, 2, 3})
	if mac, ok := h.lookup(ipGW); !ok || mac != macGW {
		t.Fatalf("solicited reply did not resolve: %v %v", mac, ok)
	}
	if s := h.stats(); s.DropUnsolicited != 1 || s.RepliesReceived != 2 || s.CacheSize != 1 {
		t.Fatalf("stats after the solicited reply %+v", s)
	}
	// Once cached, a reply refreshes the entry (RFC 826 merge) and is not
	// unsolicited.
	h.input(reply(macGW, ipGW))
	if s := h.stats(); s.DropUnsolicited != 1 || s.RepliesReceived != 3 {
		t.Fatalf("stats after a refreshing reply %+v", s)
	}
}

func TestGratuitousUpdatesKnownEntry(t *testing.T) {
	h := newHarness(t, Config{}).withOurIP()
	h.input(request(macPeer, ipPeer, ipUs)) // learned
	moved := inet.MAC{0x02, 0, 0, 0, 0, 0x99}
	h.input(request(moved, ipPeer, ipPeer))
	if mac, ok := h.lookup(ipPeer); !ok || mac != moved {
		t.Fatalf("entry not updated: %v %v", mac, ok)
	}
	if s := h.stats(); s.GratuitousReceived != 1 || s.Ignored != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestConflict(t *testing.T) {
	h := newHarness(t, Config{}).withOurIP()
	claim := arpFrame(inet.BroadcastMAC, Fields{OpReply, macPeer, ipUs, inet.BroadcastMAC, ipUs})
	h.input(claim)
	if len(h.conflicts) != 1 || h.conflicts[0] != (conflictReport{ipUs, macPeer}) {
		t.Fatalf("conflicts %v", h.conflicts)
	}
	sent := h.take()
	if len(sent) != 1 || !bytes.Equal(sent[0].b, goldenAnnounce) {
		t.Fatalf("no defence (RFC 5227 §2.4 (b)): %d frames", len(sent))
	}
	if _, ok := h.lookup(ipUs); ok {
		t.Fatal("cached another host's claim on our address")
	}
	// A second claim within DefendInterval is reported, not defended.
	h.clk.Advance(DefendInterval - time.Millisecond)
	h.input(claim)
	if len(h.take()) != 0 || len(h.conflicts) != 2 {
		t.Fatalf("defended twice within %v", DefendInterval)
	}
	h.clk.Advance(time.Millisecond)
	h.input(claim)
	if len(h.take()) != 1 {
		t.Fatal("no defence after DefendInterval")
	}
	// Our own announcement looped back is not a conflict.
	h.input(goldenAnnounce)
	if s := h.stats(); s.Conflicts != 3 || len(h.conflicts) != 3 {
		t.Fatalf("own echo counted as conflict: %+v", s)
	}
	// A request from the claimant for our address is a conflict too.
	h.input(request(macPeer, ipUs, ipGW))
	if len(h.conflicts) != 4 {
		t.Fatal("conflicting request not reported")
	}
}
