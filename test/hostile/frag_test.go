package hostile

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
)

// Case 4: IP fragments (the reassembly bugs of Ripple20 / AMNESIA:33 and
// the classic teardrop, bonk, ping of death and Rose attacks).

// frag is one fragment of a UDP datagram from the peer to port 53.
func frag(id uint16, off int, mf bool, data []byte) []byte {
	return ipFrame(peerIP, ip(iph{src: peerIP, dst: victimIP, proto: 17, id: id, off: off, mf: mf}, data))
}

// udpWhole is a UDP datagram (header + payload) ready to be fragmented.
func udpWhole(payload []byte) []byte {
	return udpb(peerIP, victimIP, 5000, 53, payload, 0)
}

func fragVictim(t *testing.T) (*victim, *peer, func() string) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	c, err := v.s.UDP().Bind(netip.MustParseAddrPort("0.0.0.0:53"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return v, p, func() string { return udpRead(t, c) }
}

func TestFragmentsValidAndDuplicates(t *testing.T) {
	v, p, read := fragVictim(t)
	payload := make([]byte, 100)
	for i := range payload {
		payload[i] = byte('A' + i%26)
	}
	d := udpWhole(payload) // 108 bytes: 0-48, 48-96, 96-108
	parts := [][]byte{frag(7, 0, true, d[:48]), frag(7, 48, true, d[48:96]), frag(7, 96, false, d[96:])}
	// Out of order, each twice.
	for _, i := range []int{2, 0, 2, 0, 1} {
		v.inject(parts[i])
	}
	if got := read(); got != string(payload) {
		t.Fatalf("reassembled %q", got)
	}
	st := v.stats().IP
	if st.Reassembled != 1 || st.ReasmDuplicates < 2 {
		t.Errorf("reassembled %d, duplicates %d", st.Reassembled, st.ReasmDuplicates)
	}
	if st.ReasmPending != 0 || st.ReasmMemory != 0 {
		t.Errorf("state left: %d datagrams, %d bytes", st.ReasmPending, st.ReasmMemory)
	}
	p.alive()
}

func TestFragmentsHostile(t *testing.T) {
	v, p, read := fragVictim(t)
	d := udpWhole(make([]byte, 200))
	cases := []struct {
		name  string
		frags [][]byte
		ok    bool // may be delivered (then it must be intact)
	}{
		{"overlap (teardrop)", [][]byte{frag(1, 0, true, d[:48]), frag(1, 40, false, d[40:])}, false},
		{"overlap inside", [][]byte{frag(2, 0, true, d[:96]), frag(2, 16, true, d[16:32]), frag(2, 96, false, d[96:])}, false},
		{"same offset, other data", [][]byte{frag(3, 0, true, d[:48]), frag(3, 0, true, make([]byte, 48)), frag(3, 48, false, d[48:])}, false},
		{"total > 65535 (ping of death)", [][]byte{frag(4, 0, true, d[:48]), frag(4, 65528, false, d[:48])}, false},
		{"offset at the limit", [][]byte{frag(5, 65528, false, d[:8])}, false},
		{"zero-length middle", [][]byte{frag(6, 0, true, d[:48]), frag(6, 48, true, nil), frag(6, 48, false, d[48:])}, true},
		{"zero-length last", [][]byte{frag(8, 0, true, d[:48]), frag(8, 48, false, nil)}, false},
		{"8-byte first (whole UDP header)", [][]byte{frag(9, 0, true, d[:8]), frag(9, 8, false, d[8:])}, true},
		{"non-multiple of 8", [][]byte{frag(10, 0, true, d[:47]), frag(10, 47, false, d[47:])}, false},
		{"two last fragments", [][]byte{frag(11, 96, false, d[96:]), frag(11, 48, false, d[48:96]), frag(11, 0, true, d[:48])}, false},
		{"last then beyond last", [][]byte{frag(12, 96, false, d[96:]), frag(12, 200, true, d[:48]), frag(12, 0, true, d[:96])}, false},
	}
	delivered := uint64(0)
	for _, c := range cases {
		for _, f := range c.frags {
			noPanic(t, c.name, f, func() { v.inject(f) })
		}
		expectSilent(t, v, c.name)
		if n := v.stats().UDP.InDatagrams; n != delivered {
			if !c.ok {
				t.Fatalf("%s: delivered a datagram", c.name)
			}
			delivered = n
			if got := read(); got != string(make([]byte, 200)) {
				t.Fatalf("%s: delivered %q", c.name, got)
			}
		}
	}
	// Tiny first fragment of TCP overwriting the header (RFC 1858 §3).
	tcpSeg := tcpb(peerIP, victimIP, seg{sport: 9999, dport: 80, seq: 1, flags: fSYN, win: 100})
	v.inject(ipFrame(peerIP, ip(iph{src: peerIP, dst: victimIP, proto: 6, id: 77, mf: true}, tcpSeg[:8])))
	v.inject(ipFrame(peerIP, ip(iph{src: peerIP, dst: victimIP, proto: 6, id: 77, off: 8}, tcpSeg[8:])))
	if segs := v.sentTCP(); len(segs) != 0 {
		t.Errorf("tiny-fragment SYN answered: %+v", segs)
	}
	v.advance(31 * time.Second)
	if st := v.stats().IP; st.ReasmPending != 0 || st.ReasmMemory != 0 {
		t.Errorf("after timeout: %d datagrams, %d bytes held", st.ReasmPending, st.ReasmMemory)
	}
	v.take()
	p.alive()
}

// TestFragmentsManyIncomplete: 10^4 incomplete datagrams: the memory and
// datagram caps hold at every step, entries expire, and a complete
// datagram still gets through afterwards.
func TestFragmentsManyIncomplete(t *testing.T) {
	v, p, read := fragVictim(t)
	rng := rand.New(rand.NewPCG(4, 4))
	cfgMem, cfgN := 256<<10, 64
	chunk := make([]byte, 1400)
	for i := 0; i < 10000; i++ {
		src := inet.Addr4{10, 0, 0, byte(2 + rng.IntN(250))}
		off := rng.IntN(40) * 1400 / 8 * 8
		f := ipFrame(src, ip(iph{src: src, dst: victimIP, proto: 17, id: uint16(i), off: off + 8, mf: true}, chunk))
		v.inject(f)
		if i%500 == 0 {
			st := v.stats().IP
			if int(st.ReasmMemory) > cfgMem || int(st.ReasmPending) > cfgN {
				t.Fatalf("after %d: %d bytes in %d datagrams (caps %d, %d)", i, st.ReasmMemory, st.ReasmPending, cfgMem, cfgN)
			}
		}
		if i%100 == 0 {
			v.clk.Advance(10 * time.Millisecond)
		}
	}
	v.advance(31 * time.Second)
	st := v.stats().IP
	if st.ReasmPending != 0 || st.ReasmMemory != 0 {
		t.Errorf("after the timeout: %d datagrams, %d bytes", st.ReasmPending, st.ReasmMemory)
	}
	if st.ReasmTimeouts+st.ReasmEvicted == 0 {
		t.Error("nothing expired or evicted")
	}
	// Partial datagrams whose first fragment arrived get a time exceeded
	// (RFC 792) at most at the ICMP rate limit.
	errs := 0
	for _, o := range v.sent() {
		if o.icmp != nil && o.icmp.typ == 11 {
			errs++
		}
	}
	if errs > 100 {
		t.Errorf("%d time-exceeded messages", errs)
	}
	payload := []byte("still reassembling")
	d := udpWhole(payload)
	v.inject(frag(60000, 0, true, d[:16]))
	v.inject(frag(60000, 16, false, d[16:]))
	if got := read(); got != string(payload) {
		t.Fatalf("after the flood: %q", got)
	}
	p.alive()
}
