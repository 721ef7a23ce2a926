package ndp

import (
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
)

// slaacAddr returns our SLAAC address in prefix p (a /64 string).
func (h *harness) slaacAddr(p string) (AddrInfo, bool) {
	want := inet.Prefix6{Addr: addr(p), Bits: 64}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range h.nd.Addrs(nil) {
		if a.Kind == KindSLAAC && want.Contains(a.Prefix.Addr) {
			return a, true
		}
	}
	return AddrInfo{}, false
}

func TestSLAACLifetimes(t *testing.T) {
	h := newHarness(t, Config{}).started()
	h.input(llR, inet.IPv6AllNodes, ra(1800, prefixOpt("2001:db8:1::", 600, 300)))
	a, ok := h.slaacAddr("2001:db8:1::")
	if !ok || a.Status != AddrTentative || h.ip.addrs[a.Prefix.Addr] != ipv6.StateTentative {
		t.Fatalf("new SLAAC address %+v", a)
	}
	if h.ip.groups[inet.SolicitedNode(a.Prefix.Addr)] != 1 {
		t.Fatal("its solicited-node group is not joined")
	}
	h.clk.Advance(RetransTimer)
	if a, _ = h.slaacAddr("2001:db8:1::"); a.Status != AddrPreferred || a.ValidUntil != a.PreferredUntil.Add(300*time.Second) {
		t.Fatalf("after DAD %+v", a)
	}
	h.clk.Advance(299 * time.Second)
	if a, _ = h.slaacAddr("2001:db8:1::"); a.Status != AddrDeprecated || h.ip.addrs[a.Prefix.Addr] != ipv6.StateDeprecated {
		t.Fatalf("after the preferred lifetime %+v", a)
	}
	// A new advertisement brings it back.
	h.input(llR, inet.IPv6AllNodes, ra(1800, prefixOpt("2001:db8:1::", 600, 300)))
	if a, _ = h.slaacAddr("2001:db8:1::"); a.Status != AddrPreferred {
		t.Fatalf("refreshed %+v", a)
	}
	h.clk.Advance(600 * time.Second)
	if _, ok := h.slaacAddr("2001:db8:1::"); ok || len(h.ip.addrs) != 1 || h.ip.groups[inet.SolicitedNode(a.Prefix.Addr)] != 0 {
		t.Fatalf("after the valid lifetime: table %v", h.ip.addrs)
	}
	if s := h.stats(); s.AddrExpired != 1 || s.SLAACAddrs != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestSLAACPreferredZeroIsDeprecated(t *testing.T) {
	h := newHarness(t, Config{}).started()
	h.input(llR, inet.IPv6AllNodes, ra(1800, prefixOpt("2001:db8:1::", 600, 0)))
	h.clk.Advance(RetransTimer)
	if a, _ := h.slaacAddr("2001:db8:1::"); a.Status != AddrDeprecated {
		t.Fatalf("%+v", a)
	}
}

// TestSLAACTwoHourRule checks RFC 4862 §5.5.3 (e).
func TestSLAACTwoHourRule(t *testing.T) {
	for _, tc := range []struct {
		name          string
		first, second uint32 // valid lifetimes, seconds
		want          time.Duration
	}{
		{"shorter, remaining over 2h: 2h", 86400, 60, 2 * time.Hour},
		{"zero, remaining over 2h: 2h", 86400, 0, 2 * time.Hour},
		{"over 2h: taken", 86400, 3 * 3600, 3 * time.Hour},
		{"longer than remaining: taken", 3600, 5400, 5400 * time.Second},
		{"shorter, remaining under 2h: kept", 3600, 60, 3600 * time.Second},
		{"infinite: taken", 3600, Infinity, 0},
		{"infinite remaining, short: 2h", Infinity, 60, 2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}).started()
			h.input(llR, inet.IPv6AllNodes, ra(1800, prefixOpt("2001:db8:1::", tc.first, 0)))
			h.clk.Advance(RetransTimer)
			at := h.clk.Now()
			h.input(llR, inet.IPv6AllNodes, ra(1800, prefixOpt("2001:db8:1::", tc.second, 0)))
			a, ok := h.slaacAddr("2001:db8:1::")
			if !ok {
				t.Fatal("address gone")
			}
			got := time.Duration(0)
			if !a.ValidUntil.IsZero() {
				got = a.ValidUntil.Sub(at)
			}
			if tc.name == "shorter, remaining under 2h: kept" {
				got += RetransTimer
			}
			if got != tc.want {
				t.Fatalf("valid for %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSLAACIgnoredPrefixes(t *testing.T) {
	h := newHarness(t, Config{}).started()
	for _, pi := range []PrefixInfoFields{
		{64, true, true, 600, 300, addr("fe80::")},        // link-local (b)
		{64, true, true, 300, 600, addr("2001:db8:2::")},  // preferred > valid (c)
		{48, true, true, 600, 300, addr("2001:db8:3::")},  // not /64
		{64, true, false, 600, 300, addr("2001:db8:4::")}, // A clear: on-link only
	} {
		h.input(llR, inet.IPv6AllNodes, ra(1800, opts(&pi)))
	}
	h.clk.Advance(time.Second)
	h.do(func() {
		for _, a := range h.nd.Addrs(nil) {
			if a.Kind == KindSLAAC {
				t.Fatalf("formed %+v", a)
			}
		}
	})
	if s := h.stats(); s.SLAACIgnored != 3 {
		t.Fatalf("stats %+v", s)
	}
}

// TestStableIdentifiers checks RFC 7217's properties: the same prefix,
// MAC and secret give the same address across restarts; another prefix
// or secret an unrelated one; a DAD conflict the next DAD_Counter's.
func TestStableIdentifiers(t *testing.T) {
	form := func(secret [16]byte, prefix string) inet.Addr {
		h := newHarness(t, Config{StableSecret: secret}).started()
		h.input(llR, inet.IPv6AllNodes, ra(1800, prefixOpt(prefix, 600, 300)))
		a, ok := h.slaacAddr(prefix)
		if !ok {
			t.Fatal("no address")
		}
		return a.Prefix.Addr
	}
	a1 := form(secret, "2001:db8:1::")
	if a2 := form(secret, "2001:db8:1::"); a2 != a1 {
		t.Fatalf("same inputs: %v then %v", a1, a2)
	}
	b := form(secret, "2001:db8:2::")
	c := form([16]byte{9}, "2001:db8:1::")
	ia, ib, ic := a1.As16(), b.As16(), c.As16()
	if [8]byte(ia[8:]) == [8]byte(ib[8:]) || [8]byte(ia[8:]) == [8]byte(ic[8:]) {
		t.Fatalf("identifiers repeat: %v %v %v", a1, b, c)
	}

	h := newHarness(t, Config{}).started()
	h.input(llR, inet.IPv6AllNodes, ra(1800, prefixOpt("2001:db8:1::", 600, 300)))
	first, _ := h.slaacAddr("2001:db8:1::")
	h.input(first.Prefix.Addr, inet.IPv6AllNodes, na(first.Prefix.Addr, false, true, false, macN))
	h.clk.Advance(IDGenDelay)
	second, ok := h.slaacAddr("2001:db8:1::")
	if !ok || second.Prefix.Addr == first.Prefix.Addr || second.Status != AddrTentative {
		t.Fatalf("after a conflict: %+v (first %v)", second, first.Prefix.Addr)
	}
	h.clk.Advance(RetransTimer)
	if second, _ = h.slaacAddr("2001:db8:1::"); second.Status != AddrPreferred {
		t.Fatalf("second identifier %+v", second)
	}
	if len(h.dups) != 1 || h.dups[0].a != first.Prefix.Addr {
		t.Fatalf("reports %v", h.dups)
	}
}

func TestStableIdentifiersGiveUp(t *testing.T) {
	h := newHarness(t, Config{}).started()
	h.input(llR, inet.IPv6AllNodes, ra(1800, prefixOpt("2001:db8:1::", 600, 300)))
	for range IDGenRetries + 1 {
		a, _ := h.slaacAddr("2001:db8:1::")
		h.input(a.Prefix.Addr, inet.IPv6AllNodes, na(a.Prefix.Addr, false, true, false, macN))
		h.clk.Advance(IDGenDelay)
	}
	a, _ := h.slaacAddr("2001:db8:1::")
	if a.Status != AddrDuplicate || len(h.dups) != IDGenRetries+1 {
		t.Fatalf("after %d conflicts: %+v, %d reports", IDGenRetries+1, a, len(h.dups))
	}
	// The slot goes with the prefix's valid lifetime.
	h.clk.Advance(600 * time.Second)
	if _, ok := h.slaacAddr("2001:db8:1::"); ok {
		t.Fatal("duplicate kept past its valid lifetime")
	}
}

func TestStableLinkLocal(t *testing.T) {
	h := newHarness(t, Config{StableLinkLocal: true})
	h.do(h.nd.Start)
	h.clk.Advance(time.Minute)
	var ll []AddrInfo
	h.do(func() { ll = h.nd.Addrs(nil) })
	if len(ll) != 1 || !ll[0].Prefix.Addr.IsLinkLocalUnicast() || ll[0].Prefix.Addr == llUs || ll[0].Status != AddrPreferred {
		t.Fatalf("addresses %+v", ll)
	}
}
