package hostile

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
)

// Case 6: ARP.

func TestARPMalformed(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	good := arpb(1, peerMAC, peerIP, inet.MAC{}, victimIP)
	mods := map[string]func([]byte) []byte{
		"htype 6":     func(b []byte) []byte { b[1] = 6; return b },
		"ptype ipv6":  func(b []byte) []byte { b[2], b[3] = 0x86, 0xdd; return b },
		"hlen 0":      func(b []byte) []byte { b[4] = 0; return b },
		"hlen 255":    func(b []byte) []byte { b[4] = 255; return b },
		"plen 16":     func(b []byte) []byte { b[5] = 16; return b },
		"plen 0":      func(b []byte) []byte { b[5] = 0; return b },
		"op 0":        func(b []byte) []byte { b[7] = 0; return b },
		"op 3":        func(b []byte) []byte { b[7] = 3; return b },
		"op 0xffff":   func(b []byte) []byte { b[6], b[7] = 0xff, 0xff; return b },
		"sha bcast":   func(b []byte) []byte { copy(b[8:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); return b },
		"sha mcast":   func(b []byte) []byte { b[8] = 1; return b },
		"sha zero":    func(b []byte) []byte { copy(b[8:14], make([]byte, 6)); return b },
		"spa bcast":   func(b []byte) []byte { copy(b[14:], []byte{255, 255, 255, 255}); return b },
		"spa mcast":   func(b []byte) []byte { b[14] = 224; return b },
		"short 27":    func(b []byte) []byte { return b[:27] },
		"short 8":     func(b []byte) []byte { return b[:8] },
		"empty":       func(b []byte) []byte { return b[:0] },
		"tpa other":   func(b []byte) []byte { b[27] = 99; return b },
		"sha is ours": func(b []byte) []byte { copy(b[8:], victimMAC[:]); return b },
	}
	for name, m := range mods {
		b := m(append([]byte(nil), good...))
		f := eth(inet.BroadcastMAC, peerMAC, ethARP, b)
		noPanic(t, "arp "+name, f, func() { v.inject(f) })
		for _, o := range v.sent() {
			if o.arp != nil && o.arp.op == 2 {
				t.Errorf("%s: answered", name)
			}
		}
	}
	p.alive()
}

// TestARPClaimOurIP: another MAC claiming our address is not cached,
// defended at most once per 10s (RFC 5227 §2.4), and our traffic goes on.
func TestARPClaimOurIP(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	evil := inet.MAC{0x02, 0xee, 0, 0, 0, 1}
	defences := 0
	for i := 0; i < 100; i++ {
		for _, op := range []uint16{1, 2} {
			v.inject(eth(inet.BroadcastMAC, evil, ethARP, arpb(op, evil, victimIP, inet.MAC{}, victimIP)))
			v.inject(eth(inet.BroadcastMAC, evil, ethARP, arpb(op, evil, victimIP, victimMAC, peerIP)))
		}
		for _, o := range v.sent() {
			if o.arp != nil && o.arp.spa == victimIP && o.arp.sha == victimMAC {
				defences++
			}
		}
		v.advance(100_000_000) // 100ms
	}
	// 10s elapsed: at most 2 defences.
	if defences > 2 {
		t.Errorf("%d defences in 10s, want <= 2 (RFC 5227 §2.4)", defences)
	}
	if st := v.stats().ARP; st.Conflicts == 0 {
		t.Error("conflicts not counted")
	}
	v.s.Locker().Lock()
	_, cached := v.s.LayersLocked().ARP.LookupLocked(victimIP)
	v.s.Locker().Unlock()
	if cached {
		t.Error("our own address cached")
	}
	p.alive()
}

// TestARPManySenders: 10^5 senders (requests aimed at us from distinct
// addresses and MACs, and unsolicited replies): the cache stays bounded,
// memory does not grow with the senders, and the connection lives.
func TestARPManySenders(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	v.dev.record = false
	n := 100000
	if testing.Short() {
		n = 20000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	b := arpb(1, peerMAC, peerIP, inet.MAC{}, victimIP)
	f := eth(inet.BroadcastMAC, peerMAC, ethARP, b)
	for i := 0; i < n; i++ {
		var mac inet.MAC
		binary.BigEndian.PutUint32(mac[2:], rng.Uint32())
		mac[0] = 0x02
		spa := inet.Addr4{10, 0, byte(rng.IntN(256)), byte(rng.IntN(254) + 1)}
		if i%3 == 0 {
			spa = inet.Addr4{byte(rng.IntN(200) + 11), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.IntN(254) + 1)}
		}
		if spa == victimIP || spa == bcastIP {
			continue
		}
		copy(f[6:], mac[:])
		copy(f[14+8:], mac[:])
		copy(f[14+14:], spa[:])
		op := byte(1)
		if i%2 == 1 {
			op = 2 // unsolicited reply
			copy(f[0:6], victimMAC[:])
		} else {
			copy(f[0:6], inet.BroadcastMAC[:])
		}
		f[14+7] = op
		v.inject(f)
		if i%10000 == 0 {
			if cs := v.stats().ARP.CacheSize; cs > 512 {
				t.Fatalf("ARP cache %d entries > 512", cs)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	st := v.stats().ARP
	t.Logf("ARP after %d senders: %+v", n, st)
	if st.RequestsReceived < uint64(n/3) {
		t.Fatalf("only %d requests reached ARP: the test is not testing", st.RequestsReceived)
	}
	if st.CacheSize > 512 {
		t.Errorf("ARP cache %d entries > 512", st.CacheSize)
	}
	if grow := int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc); grow > 8<<20 {
		t.Errorf("heap grew %d bytes over %d senders", grow, n)
	}
	v.dev.record = true
	p.alive()
}

// TestARPReplyStorm: a storm of unsolicited replies (and gratuitous
// announcements) for addresses we never asked about creates no entries
// and no answers.
func TestARPReplyStorm(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	before := v.stats().ARP.CacheSize
	for i := 0; i < 20000; i++ {
		spa := inet.Addr4{10, 0, 0, byte(3 + i%250)}
		m := inet.MAC{0x02, 0xbb, 0, 0, byte(i >> 8), byte(i)}
		v.inject(eth(victimMAC, m, ethARP, arpb(2, m, spa, victimMAC, victimIP)))
		v.inject(eth(inet.BroadcastMAC, m, ethARP, arpb(1, m, spa, inet.MAC{}, spa)))
	}
	for _, o := range v.sent() {
		t.Fatalf("victim answered a reply storm: % x", o.raw)
	}
	if after := v.stats().ARP.CacheSize; after != before {
		t.Errorf("cache grew from %d to %d on unsolicited replies", before, after)
	}
	p.alive()
}
