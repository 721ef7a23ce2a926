package arp

import (
	"testing"
	"time"

	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// FuzzARPInput feeds arbitrary bytes to the layer, first as one ARP
// payload, then as a script of 29-byte steps (a command byte and 28 bytes)
// that mixes raw input, input with a valid fixed header, Output and the
// passing of time. The layer must never panic and must keep its bounds.
func FuzzARPInput(f *testing.F) {
	for _, fr := range [][]byte{goldenRequest, goldenReply, goldenAnnounce} {
		f.Add(fr[ethernet.HeaderLen:])
	}
	claim := arpFrame(inet.BroadcastMAC, Fields{OpReply, macPeer, ipUs, inet.BroadcastMAC, ipUs})
	f.Add(claim[ethernet.HeaderLen:])
	script := []byte{1}
	script = append(script, make([]byte, 28)...)
	script[1+24], script[1+25], script[1+26], script[1+27] = 10, 0, 2, 2
	script = append(script, 3)
	script = append(script, reply(macGW, ipGW)[ethernet.HeaderLen:]...)
	f.Add(script)
	f.Fuzz(func(t *testing.T, b []byte) {
		h := newHarness(t, Config{CacheSize: 4, PendingPerAddr: 2, PendingTotal: 5, MaxRetries: 2})
		h.dev.record = false
		h.mu.Lock()
		h.arp.AddIPLocked(ipUs)
		h.arp.Input(macGW, macUs, b, netif.RxMeta{})
		h.mu.Unlock()
		for off := 0; off < len(b); off += 1 + PacketLen {
			cmd := b[off]
			chunk := b[off+1 : min(off+1+PacketLen, len(b))]
			h.mu.Lock()
			switch cmd % 4 {
			case 0:
				h.arp.Input(macGW, macUs, chunk, netif.RxMeta{})
			case 1:
				if len(chunk) >= PacketLen {
					_ = h.arp.Output(Packet(chunk).TargetIP(), newBuf(h, len(chunk)))
				}
			case 2:
				h.mu.Unlock()
				h.clk.Advance(time.Duration(cmd) * 100 * time.Millisecond)
				h.mu.Lock()
			case 3:
				p := append([]byte{0, 1, 8, 0, 6, 4, 0, 1 + cmd>>7}, chunk[min(8, len(chunk)):]...)
				h.arp.Input(macGW, macUs, p, netif.RxMeta{})
			}
			checkInvariants(t, h)
			h.mu.Unlock()
		}
		h.clk.Advance(time.Hour)
		h.mu.Lock()
		defer h.mu.Unlock()
		checkInvariants(t, h)
		if h.arp.cache.n != 0 || h.arp.pend.Used() != 0 {
			t.Fatalf("after an hour: %d entries, %d pending", h.arp.cache.n, h.arp.pend.Used())
		}
	})
}

func checkInvariants(t *testing.T, h *harness) {
	t.Helper()
	checkCache(t, &h.arp.cache)
	s := h.arp.StatsLocked()
	if s.CacheSize > 4 || s.Pending > 5 {
		t.Fatalf("bounds broken: %+v", s)
	}
	pend := 0
	for i := range h.arp.cache.ents {
		e := &h.arp.cache.ents[i]
		if e.state == stateFree {
			continue
		}
		if e.pend.Len() > 2 {
			t.Fatalf("%v holds %d pending", e.ip, e.pend.Len())
		}
		pend += e.pend.Len()
		if e.ip == ipUs {
			t.Fatal("our own address is cached")
		}
	}
	if pend != s.Pending {
		t.Fatalf("entries hold %d pending, pool says %d", pend, s.Pending)
	}
}
