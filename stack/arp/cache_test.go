package arp

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

func TestAgingIdleEntry(t *testing.T) {
	h := newHarness(t, Config{Lifetime: 60 * time.Second}).withOurIP()
	h.input(request(macPeer, ipPeer, ipUs))
	h.take()
	h.clk.Advance(30 * time.Second)
	h.input(request(macPeer, ipPeer, ipUs)) // confirmation restarts the lifetime
	h.take()
	h.clk.Advance(60*time.Second - time.Millisecond)
	if _, ok := h.lookup(ipPeer); !ok {
		t.Fatal("entry expired before its lifetime")
	}
	h.clk.Advance(time.Millisecond)
	if _, ok := h.lookup(ipPeer); ok {
		t.Fatal("entry outlived its lifetime (RFC 1122 §2.3.2.1)")
	}
	if s := h.stats(); s.Expired != 1 || s.CacheSize != 0 {
		t.Fatalf("stats %+v", s)
	}
	if n := len(h.take()); n != 0 {
		t.Fatalf("idle entry polled: %d frames", n)
	}
}

func TestAgingEntryInUseIsPolled(t *testing.T) {
	h := newHarness(t, Config{Lifetime: 60 * time.Second, MaxRetries: 2}).withOurIP()
	_ = h.output(ipGW, 1)
	h.input(reply(macGW, ipGW))
	h.take()
	_ = h.output(ipGW, 2)
	h.take()
	h.clk.Advance(60 * time.Second)
	sent := h.take()
	if len(sent) != 1 {
		t.Fatalf("sent %d frames at expiry, want one unicast poll", len(sent))
	}
	wantARP(t, sent[0], macGW, Fields{OpRequest, macUs, ipUs, inet.MAC{}, ipGW})
	if _, ok := h.lookup(ipGW); !ok {
		t.Fatal("entry unusable while being revalidated")
	}
	h.input(reply(macGW, ipGW)) // confirmed again
	h.clk.Advance(60*time.Second - time.Millisecond)
	if _, ok := h.lookup(ipGW); !ok || len(h.take()) != 0 {
		t.Fatal("revalidated entry lost or polled early")
	}
	// Used again but the neighbour is gone: polls, then removal.
	_ = h.output(ipGW, 3)
	h.take()
	h.clk.Advance(time.Millisecond + 3*time.Second)
	if n := len(h.take()); n != 2 {
		t.Fatalf("sent %d polls, want MaxRetries=2", n)
	}
	if _, ok := h.lookup(ipGW); ok {
		t.Fatal("unanswered entry kept")
	}
}

// checkCache verifies the cache's internal invariants.
func checkCache(t testing.TB, c *cache) {
	t.Helper()
	n := 0
	for i := c.head; i != none; i = c.ents[i].next {
		n++
		e := &c.ents[i]
		if e.state == stateFree || c.find(e.ip) != i {
			t.Fatalf("entry %d (%v) in LRU list but not indexed", i, e.ip)
		}
		if n > len(c.ents) {
			t.Fatal("LRU list loops")
		}
	}
	m := 0
	for _, k := range c.index {
		if k != none {
			m++
		}
	}
	if n != c.n || m != c.n || c.n > len(c.ents) {
		t.Fatalf("list %d, index %d, count %d, cap %d", n, m, c.n, len(c.ents))
	}
}

func TestCacheIndexRandomOps(t *testing.T) {
	c := newCache(16)
	r := rand.New(rand.NewPCG(1, 2))
	live := map[inet.Addr4]int32{}
	for step := 0; step < 20000; step++ {
		a := inet.Addr4{10, 0, 0, byte(r.IntN(40))}
		if i, ok := live[a]; ok {
			if c.find(a) != i {
				t.Fatalf("step %d: lost %v", step, a)
			}
			c.remove(i)
			delete(live, a)
		} else if i := c.add(a); i != none {
			live[a] = i
		} else if len(live) != 16 {
			t.Fatalf("add failed with %d live", len(live))
		}
		if step%97 == 0 {
			checkCache(t, &c)
		}
	}
}

func TestCacheBoundUnderFlood(t *testing.T) {
	h := newHarness(t, Config{CacheSize: 512}).withOurIP()
	h.dev.record = false
	_ = h.output(ipGW, 1)
	h.input(reply(macGW, ipGW)) // the gateway is in use
	frame := request(macPeer, ipPeer, ipUs)
	sent := 0
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 100000; i++ {
		// Distinct sender IP and MAC per request, all aimed at us.
		frame[6+2], frame[6+3], frame[6+4] = byte(i>>16), byte(i>>8), byte(i)
		copy(frame[22:28], frame[6:12])
		frame[28], frame[29], frame[30], frame[31] = 10, byte(i>>16), byte(i>>8), byte(i)
		if a := (inet.Addr4{10, byte(i >> 16), byte(i >> 8), byte(i)}); a[3] == 0 || a[3] == 255 || a == ipUs || a == ipGW {
			continue
		}
		sent++
		h.input(frame)
		if i%1000 == 0 {
			h.mu.Lock()
			checkCache(t, &h.arp.cache)
			if h.q.Len() > 512+1 { // entries and the announcement timer
				t.Fatalf("timer queue holds %d entries", h.q.Len())
			}
			h.mu.Unlock()
		}
	}
	runtime.ReadMemStats(&after)
	s := h.stats()
	if s.CacheSize > 512 || s.CacheSize < 500 {
		t.Fatalf("cache size %d after flood", s.CacheSize)
	}
	if s.Learned != uint64(sent) || s.Evictions != uint64(sent-511) || s.Conflicts != 0 {
		t.Fatalf("%d senders: learned %d evicted %d", sent, s.Learned, s.Evictions)
	}
	if mac, ok := h.lookup(ipGW); !ok || mac != macGW {
		t.Fatal("flood evicted the gateway, which is in use")
	}
	if n := after.Mallocs - before.Mallocs; n > 1000 {
		t.Fatalf("%d allocations for 10^5 senders: memory is not bounded", n)
	}
}

func TestOutputEvictsWhenFull(t *testing.T) {
	h := newHarness(t, Config{CacheSize: 4}).withOurIP()
	for k := 0; k < 10; k++ {
		if err := h.output(inet.Addr4{10, 0, 3, byte(k + 1)}, byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	s := h.stats()
	if s.CacheSize != 4 || s.Evictions != 6 || s.PendingDrops != 6 || s.Pending != 4 {
		t.Fatalf("stats %+v", s)
	}
	h.mu.Lock()
	checkCache(t, &h.arp.cache)
	h.mu.Unlock()
}

// TestFindHintStaysCorrect checks the last-found hint across removal and
// reuse of the hinted entry for another address.
func TestFindHintStaysCorrect(t *testing.T) {
	c := newCache(2)
	a, b := inet.Addr4{10, 0, 0, 1}, inet.Addr4{10, 0, 0, 2}
	i := c.add(a)
	if c.find(a) != i || c.find(a) != i {
		t.Fatal("find after add")
	}
	c.remove(i)
	if c.find(a) != none {
		t.Fatal("removed entry still found through the hint")
	}
	j := c.add(b) // reuses the hinted entry's slot for another address
	if c.find(a) != none || c.find(b) != j {
		t.Fatalf("after reuse: find(a)=%d find(b)=%d, want none, %d", c.find(a), c.find(b), j)
	}
}
