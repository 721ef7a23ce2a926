package ndp

import (
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

var (
	remote = addr("2001:db8:99::1")
	llR2   = addr("fe80::2")
	macR2  = inet.MAC{0x52, 0x54, 0, 0, 0, 0x22}
)

func TestRouterAdvertisementGolden(t *testing.T) {
	// radvd's advertisement, as recorded: everything in it is applied.
	h := newHarness(t, Config{}).started()
	_, _, m := icmpOf(t, goldenRA)
	h.input(llR, inet.IPv6AllNodes, m)
	h.do(func() {
		if r := h.nd.Routers(nil); len(r) != 1 || r[0] != llR {
			t.Fatalf("routers %v", r)
		}
		if p := h.nd.OnLinkPrefixes(nil); len(p) != 1 || p[0].String() != "2001:db8:1::/64" {
			t.Fatalf("prefixes %v", p)
		}
		d := h.nd.DNSServers(nil)
		if len(d) != 2 || d[0].Addr != addr("2001:db8:1::53") || d[1].Addr != addr("2001:db8:1::54") || d[0].Until != t0.Add(h.clk.Now().Sub(t0)+1200*time.Second) {
			t.Fatalf("DNS servers %v", d)
		}
	})
	if h.ip.hopLimit != 64 || h.ip.mtu != 1400 || len(h.mtus) != 1 {
		t.Fatalf("hop limit %d, MTU %d", h.ip.hopLimit, h.ip.mtu)
	}
	if n, _ := h.neighbor(llR); n.State != StateStale || n.MAC != macR || !n.IsRouter {
		t.Fatalf("router entry %+v", n)
	}
	// SLAAC: one address in 2001:db8:1::/64 with a stable identifier.
	h.clk.Advance(RetransTimer)
	var slaac []AddrInfo
	h.do(func() {
		for _, a := range h.nd.Addrs(nil) {
			if a.Kind == KindSLAAC {
				slaac = append(slaac, a)
			}
		}
	})
	if len(slaac) != 1 || slaac[0].Status != AddrPreferred || slaac[0].Prefix.Bits != 64 {
		t.Fatalf("SLAAC %+v", slaac)
	}
	if a := slaac[0].Prefix.Addr.As16(); [8]byte(a[:8]) != [8]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1} || slaac[0].Prefix.Addr == globH {
		t.Fatalf("SLAAC address %v: not in the prefix, or EUI-64", slaac[0].Prefix.Addr)
	}
	// Off-link traffic goes to the router.
	h.take()
	h.output(slaac[0].Prefix.Addr, remote, 1)
	fs := h.take()
	if len(fs) != 1 {
		t.Fatalf("%d frames", len(fs))
	}
	wantIPv6To(t, fs[0], remote, macR)
	if n, _ := h.neighbor(llR); n.State != StateDelay {
		t.Fatalf("router entry %v after use", n.State)
	}
}

func TestRouterAdvertisementValidity(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  inet.Addr
		hop  uint8
		m    []byte
		drop func(Stats) uint64
	}{
		{"hop limit 254", llR, 254, ra(1800, sllOpt(macR)), func(s Stats) uint64 { return s.DropHopLimit }},
		{"hop limit 64", llR, 64, ra(1800, sllOpt(macR)), func(s Stats) uint64 { return s.DropHopLimit }},
		{"global source", addr("2001:db8::1"), 255, ra(1800, sllOpt(macR)), func(s Stats) uint64 { return s.DropSource }},
		{"code 1", llR, 255, func() []byte { m := ra(1800); m[1] = 1; return m }(), func(s Stats) uint64 { return s.DropCode }},
		{"zero-length option", llR, 255, append(ra(1800), 1, 0, 0, 0, 0, 0, 0, 0), func(s Stats) uint64 { return s.DropOptionLen }},
		{"short", llR, 255, ra(1800)[:15], func(s Stats) uint64 { return s.DropShort }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}).started()
			h.inputHop(tc.src, inet.IPv6AllNodes, tc.hop, tc.m)
			s := h.stats()
			if tc.drop(s) != 1 || s.RAReceived != 0 || s.Routers != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
	h := newHarness(t, Config{}).started()
	h.do(func() { h.nd.Input(llR, inet.IPv6AllNodes, 255, true, ra(1800)) })
	if s := h.stats(); s.DropFragmented != 1 || s.Routers != 0 {
		t.Fatalf("fragmented RA: %+v", s)
	}
}

func TestRouterLifetimes(t *testing.T) {
	h := newHarness(t, Config{}).started()
	h.input(llR, inet.IPv6AllNodes, ra(30, sllOpt(macR)))
	if h.stats().Routers != 1 {
		t.Fatal("router not added")
	}
	h.clk.Advance(29 * time.Second)
	h.input(llR, inet.IPv6AllNodes, ra(30, sllOpt(macR))) // refreshed
	h.clk.Advance(29 * time.Second)
	if h.stats().Routers != 1 {
		t.Fatal("refreshed router expired")
	}
	h.clk.Advance(time.Second)
	if h.stats().Routers != 0 {
		t.Fatal("router outlived its lifetime")
	}
	if err := h.output(llUs, remote, 1); err != ErrNoRoute {
		t.Fatalf("after expiry: %v", err)
	}
	h.input(llR, inet.IPv6AllNodes, ra(1800))
	h.input(llR, inet.IPv6AllNodes, ra(0)) // lifetime 0: off the list
	if h.stats().Routers != 0 {
		t.Fatal("lifetime 0 did not remove the router")
	}
}

func TestRouterListBounded(t *testing.T) {
	h := newHarness(t, Config{MaxRouters: 2}).started()
	for i := range 5 {
		h.input(addr("fe80::100:"+string(rune('a'+i))), inet.IPv6AllNodes, ra(1800))
	}
	if s := h.stats(); s.Routers != 2 || s.RoutersFull != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRouterRoundRobinOnUnreachability(t *testing.T) {
	h := newHarness(t, Config{}).started()
	h.input(llR, inet.IPv6AllNodes, ra(1800))
	h.input(llR2, inet.IPv6AllNodes, ra(1800))
	// Neither is known to be reachable: the first packet goes to one,
	// the next to the other (RFC 4861 §6.3.6).
	h.output(llUs, remote, 1)
	h.output(llUs, addr("2001:db8:99::2"), 2)
	var targets []inet.Addr
	for _, f := range ofType(h.take(), TypeNeighborSolicit) {
		v, _ := ParseNS(decode(t, f).payload)
		targets = append(targets, v.Target())
	}
	if len(targets) != 2 || targets[0] == targets[1] {
		t.Fatalf("resolved %v", targets)
	}
	// The second answers: it is reachable and takes all traffic.
	second := targets[1]
	mac := macR
	if second == llR2 {
		mac = macR2
	}
	h.input(second, llUs, na(second, true, true, true, mac))
	h.take()
	for i := range 3 {
		h.output(llUs, remote, byte(i))
	}
	for _, f := range h.take() {
		if d := decode(t, f); d.dstMAC != mac {
			t.Fatalf("sent to %v, want the reachable router %v", d.dstMAC, mac)
		}
	}
}

func TestRouterPreference(t *testing.T) {
	h := newHarness(t, Config{}).started()
	low := ra(1800, sllOpt(macR))
	low[5] = 3 << 3 // Prf 11: low
	h.input(llR, inet.IPv6AllNodes, low)
	high := ra(1800, sllOpt(macR2))
	high[5] = 1 << 3 // Prf 01: high
	h.input(llR2, inet.IPv6AllNodes, high)
	h.output(llUs, remote, 1)
	if d := decode(t, h.take()[0]); d.dstMAC != macR2 {
		t.Fatalf("sent to %v, want the high-preference router", d.dstMAC)
	}
}

func TestRouterTurnedHost(t *testing.T) {
	h := newHarness(t, Config{}).started()
	h.input(llR, inet.IPv6AllNodes, ra(1800, sllOpt(macR)))
	h.input(llR, inet.IPv6AllNodes, na(llR, false, true, false, macR))
	if h.stats().Routers != 0 {
		t.Fatal("an NA with R=0 left the router on the list (RFC 4861 §7.2.5)")
	}
}

func TestAdvertisedParameters(t *testing.T) {
	h := newHarness(t, Config{}).started()
	f := RAFields{CurHopLimit: 17, RouterLifetime: 1800, ReachableTime: 1, RetransTimer: 5, Options: opts(&MTUFields{1000})}
	h.input(llR, inet.IPv6AllNodes, msg(&f))
	if h.ip.hopLimit != 17 || h.ip.mtu != 0 {
		t.Fatalf("hop limit %d, MTU %d", h.ip.hopLimit, h.ip.mtu)
	}
	h.do(func() {
		if h.nd.retrans != minRetrans || h.nd.baseReachable != minReachable || h.ip.mtu != 0 {
			t.Fatalf("retrans %v, reachable %v, MTU %d", h.nd.retrans, h.nd.baseReachable, h.ip.mtu)
		}
	})
	if s := h.stats(); s.MTUIgnored != 1 || s.ParamClamped != 2 {
		t.Fatalf("stats %+v", s)
	}
	f = RAFields{RouterLifetime: 1800, RetransTimer: 2000, Options: opts(&MTUFields{9000})}
	h.input(llR, inet.IPv6AllNodes, msg(&f))
	h.do(func() {
		if h.nd.retrans != 2*time.Second || h.ip.mtu != 0 {
			t.Fatalf("retrans %v, MTU %d", h.nd.retrans, h.ip.mtu)
		}
	})
	f = RAFields{RouterLifetime: 1800, Options: opts(&MTUFields{1280})}
	h.input(llR, inet.IPv6AllNodes, msg(&f))
	h.do(func() {
		if h.nd.MTU() != 1500 || h.ip.mtu != 1280 {
			t.Fatalf("MTU %d, link %d", h.ip.mtu, h.nd.MTU())
		}
	})
}

func TestRDNSSLifetimes(t *testing.T) {
	h := newHarness(t, Config{MaxDNSServers: 2}).started()
	rd := func(life uint32, s ...string) []byte {
		f := RDNSSFields{Lifetime: life}
		for _, a := range s {
			f.Servers = append(f.Servers, addr(a))
		}
		return opts(&f)
	}
	servers := func() (out []inet.Addr) {
		h.do(func() {
			for _, d := range h.nd.DNSServers(nil) {
				out = append(out, d.Addr)
			}
		})
		return
	}
	h.input(llR, inet.IPv6AllNodes, ra(1800, rd(100, "2001:db8::53")))
	h.input(llR, inet.IPv6AllNodes, ra(1800, rd(600, "2001:db8::54", "ff02::1", "::")))
	if s := servers(); len(s) != 2 || h.stats().DNSIgnored != 2 {
		t.Fatalf("servers %v, %+v", s, h.stats())
	}
	// Full: a longer-lived server replaces the one expiring first.
	h.input(llR, inet.IPv6AllNodes, ra(1800, rd(300, "2001:db8::55")))
	if s := servers(); len(s) != 2 || s[0] != addr("2001:db8::55") {
		t.Fatalf("servers %v", s)
	}
	h.clk.Advance(300 * time.Second)
	if s := servers(); len(s) != 1 || s[0] != addr("2001:db8::54") {
		t.Fatalf("after 300s: %v", s)
	}
	h.input(llR, inet.IPv6AllNodes, ra(1800, rd(0, "2001:db8::54")))
	if s := servers(); len(s) != 0 {
		t.Fatalf("lifetime 0 kept %v", s)
	}
}

func TestPrefixList(t *testing.T) {
	h := newHarness(t, Config{DisableSLAAC: true}).started()
	h.input(llR, inet.IPv6AllNodes, ra(1800, sllOpt(macR), prefixOpt("2001:db8:7::", 60, 30)))
	// On-link: resolved directly, not through the router.
	h.output(llUs, addr("2001:db8:7::9"), 1)
	ns := ofType(h.take(), TypeNeighborSolicit)
	if len(ns) != 1 {
		t.Fatalf("%d solicitations", len(ns))
	}
	if v, _ := ParseNS(decode(t, ns[0]).payload); v.Target() != addr("2001:db8:7::9") {
		t.Fatalf("resolved %v", v.Target())
	}
	h.do(func() {
		for _, a := range h.nd.Addrs(nil) {
			if a.Kind == KindSLAAC {
				t.Fatal("SLAAC address with SLAAC off")
			}
		}
	})
	h.clk.Advance(61 * time.Second)
	h.take()
	h.output(llUs, addr("2001:db8:7::10"), 1)
	if fs := h.take(); len(fs) != 1 || decode(t, fs[0]).dstMAC != macR {
		t.Fatal("expired prefix still on-link")
	}
	// Ignored: the link-local prefix and /0.
	h.input(llR, inet.IPv6AllNodes, ra(1800, opts(&PrefixInfoFields{64, true, false, 60, 30, addr("fe80::")}),
		opts(&PrefixInfoFields{0, true, false, 60, 30, addr("::")})))
	if s := h.stats(); s.PrefixIgnored != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRedirect(t *testing.T) {
	h := newHarness(t, Config{}).started()
	h.input(llR, inet.IPv6AllNodes, ra(1800, sllOpt(macR)))
	redirect := func(from, target inet.Addr, hop uint8, o ...[]byte) {
		var b []byte
		for _, x := range o {
			b = append(b, x...)
		}
		f := RedirectFields{Target: target, Dest: remote, Options: b}
		h.inputHop(from, llUs, hop, msg(&f))
	}
	tll := opts(&LinkAddrFields{OptTargetLinkAddr, macN})
	// Forged: from a router we do not use, with a forwarded hop limit, to
	// a global target.
	redirect(llR2, llN, 255, tll)
	redirect(llR, llN, 254, tll)
	redirect(llR, addr("2001:db8::5"), 255, tll)
	redirect(addr("2001:db8::1"), llN, 255, tll)
	if s := h.stats(); s.DropRedirectSource != 1 || s.DropHopLimit != 1 || s.DropTarget != 1 || s.DropSource != 1 || s.RedirectsReceived != 0 {
		t.Fatalf("stats %+v", s)
	}
	// Valid: from our router for remote.
	redirect(llR, llN, 255, tll)
	h.output(llUs, remote, 1)
	fs := h.take()
	if len(fs) != 1 {
		t.Fatalf("%d frames", len(fs))
	}
	wantIPv6To(t, fs[0], remote, macN)
	if n, _ := h.neighbor(llN); !n.IsRouter {
		t.Fatalf("redirect target %+v not marked a router", n)
	}
	// The router goes: its redirects go with it.
	h.input(llR, inet.IPv6AllNodes, ra(0))
	if err := h.output(llUs, remote, 1); err != ErrNoRoute {
		t.Fatalf("after the router left: %v", err)
	}
}
