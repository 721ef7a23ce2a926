package ndp

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/pkt"
)

// FuzzInput drives a started layer with a script of steps: a command
// byte, a length byte and that many bytes. Commands deliver the bytes
// as an ND message from one of a few sources to one of a few
// destinations (hop limit 255, or not), send a packet to an address the
// bytes pick, or let time pass. The layer must never panic and must keep
// its bounds and its bookkeeping straight.
func FuzzInput(f *testing.F) {
	for _, g := range []string{goldenDADNS, goldenRS, goldenRA, goldenNS, goldenNA, goldenRedirect, goldenUnicastNS, goldenProbeNA} {
		b, _ := hex.DecodeString(g)
		m := b[54:]
		f.Add(append([]byte{0, byte(len(m))}, m...))
	}
	_, _, r := icmpOf(&testing.T{}, goldenRA)
	script := append([]byte{1, byte(len(r))}, r...)
	script = append(script, 4, 2, 0x10, 0x01)
	script = append(script, 5, 1, 200)
	n := na(llR, true, true, true, macR)
	script = append(script, 2, byte(len(n)))
	script = append(script, n...)
	f.Add(script)
	f.Fuzz(func(t *testing.T, b []byte) {
		h := newHarness(t, Config{CacheSize: 8, MaxIncomplete: 3, PendingPerAddr: 2, PendingTotal: 5, MaxRouters: 2,
			MaxPrefixes: 2, MaxRedirects: 2, MaxDNSServers: 2})
		h.dev.record = false
		h.do(h.nd.Start)
		h.clk.Advance(3 * time.Second)
		srcs := []inet.Addr{llR, llN, inet.IPv6Unspecified, globH, llUs}
		dsts := []inet.Addr{llUs, inet.IPv6AllNodes, inet.SolicitedNode(llUs), globH}
		for len(b) >= 2 {
			cmd, n := b[0], int(b[1])
			b = b[2:]
			chunk := b[:min(n, len(b))]
			b = b[len(chunk):]
			h.mu.Lock()
			switch cmd % 6 {
			case 0, 1, 2:
				hop := uint8(255)
				if cmd&0x80 != 0 {
					hop = 64
				}
				h.nd.Input(srcs[int(cmd>>3)%len(srcs)], dsts[int(cmd>>5)%len(dsts)], hop, cmd&0x40 != 0, chunk)
			case 3, 4:
				var a [16]byte
				copy(a[:], chunk)
				if cmd&8 != 0 {
					a[0], a[1] = 0xfe, 0x80
				}
				buf := pkt.New(200, h.nd.Headroom())
				m := buf.Append(ipv6.HeaderLen + 8)
				f := ipv6.Fields{PayloadLen: 8, NextHeader: 59, HopLimit: 64, Src: llUs, Dst: inet.AddrFrom16(a)}
				f.Encode(m)
				_ = h.nd.Output(inet.AddrFrom16(a), buf)
			case 5:
				h.mu.Unlock()
				d := uint64(1)
				for _, c := range chunk {
					d = d*7 + uint64(c)
				}
				h.clk.Advance(time.Duration(d % uint64(3*time.Hour)))
				h.mu.Lock()
			}
			checkInvariants(t, h)
			h.mu.Unlock()
		}
		h.clk.Advance(24 * time.Hour)
		h.mu.Lock()
		defer h.mu.Unlock()
		checkInvariants(t, h)
		if h.nd.pend.Used() != 0 {
			t.Fatalf("after a day: %d pending", h.nd.pend.Used())
		}
	})
}

func checkInvariants(t *testing.T, h *harness) {
	t.Helper()
	l := h.nd
	s := l.StatsLocked()
	if s.CacheSize > 8 || s.Pending > 5 || s.Incomplete > 3 || s.Routers > 2 {
		t.Fatalf("bounds broken: %+v", s)
	}
	pend, inc, n := 0, 0, 0
	for i := l.cache.head; i != none; i = l.cache.ents[i].next {
		e := &l.cache.ents[i]
		n++
		if e.state == StateFree {
			t.Fatal("a free entry on the LRU list")
		}
		if e.state == StateIncomplete {
			inc++
		}
		if e.pend.Len() > 2 {
			t.Fatalf("%v holds %d pending", e.ip, e.pend.Len())
		}
		pend += e.pend.Len()
		if l.cache.find(e.ip) != i {
			t.Fatalf("%v not found through the index", e.ip)
		}
		if k := l.addrs.find(e.ip); k >= 0 && l.addrs.a[k].inTable {
			t.Fatalf("our address %v is cached", e.ip)
		}
	}
	if n != l.cache.n || inc != l.cache.incomplete || pend != l.pend.Used() {
		t.Fatalf("entries %d/%d, incomplete %d/%d, pending %d/%d", n, l.cache.n, inc, l.cache.incomplete, pend, l.pend.Used())
	}
	inTable := 0
	for k := range l.addrs.a {
		a := &l.addrs.a[k]
		if !a.used {
			continue
		}
		if a.inTable {
			inTable++
			if _, ok := h.ip.addrs[a.addr]; !ok {
				t.Fatalf("%v should be in the IPv6 table", a.addr)
			}
		}
		if a.joined != (a.phase != phaseDuplicate && a.phase != phaseRetry && a.phase != phaseWaiting) && a.joined {
			t.Fatalf("%v in phase %d joined %v", a.addr, a.phase, a.joined)
		}
	}
	if inTable != len(h.ip.addrs) {
		t.Fatalf("%d addresses in our table, %d in the IPv6 layer's", inTable, len(h.ip.addrs))
	}
}
