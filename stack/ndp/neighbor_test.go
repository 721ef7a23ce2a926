package ndp

import (
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// wantIPv6To checks that s is our IPv6 packet to dst at mac.
func wantIPv6To(t *testing.T, s sentFrame, dst inet.Addr, mac inet.MAC) {
	t.Helper()
	d := decode(t, s)
	if d.dstMAC != mac || d.dst != dst || d.hop != 64 {
		t.Fatalf("sent to %v at %v hop %d; want %v at %v", d.dst, d.dstMAC, d.hop, dst, mac)
	}
}

func TestResolveQueueAndFlush(t *testing.T) {
	h := newHarness(t, Config{}).started()
	for i := range DefaultPendingPerAddr + 1 {
		if err := h.output(llUs, llN, byte(i)); err != nil {
			t.Fatal(err)
		}
	}
	fs := h.take()
	if len(fs) != 1 {
		t.Fatalf("%d frames, want one solicitation", len(fs))
	}
	sn := inet.SolicitedNode(llN)
	m := wantND(t, fs[0], TypeNeighborSolicit, llUs, sn, inet.MulticastMAC(sn))
	if v, _ := ParseNS(m); v.Target() != llN || string(v.Options()) != string(sllOpt(macUs)) {
		t.Fatalf("NS %+v", v.Fields())
	}
	if n, _ := h.neighbor(llN); n.State != StateIncomplete {
		t.Fatalf("entry %+v", n)
	}
	h.input(llN, llUs, na(llN, true, true, false, macN))
	fs = h.take()
	// The queue holds the last PendingPerAddr packets: the first went.
	if len(fs) != DefaultPendingPerAddr {
		t.Fatalf("%d packets flushed", len(fs))
	}
	for i, f := range fs {
		wantIPv6To(t, f, llN, macN)
		if p := decode(t, f).payload; p[0] != byte(i+1) {
			t.Fatalf("packet %d carries %d", i, p[0])
		}
	}
	if n, _ := h.neighbor(llN); n.State != StateReachable || n.MAC != macN {
		t.Fatalf("entry %+v", n)
	}
	if s := h.stats(); s.PendingDrops != 1 || s.Pending != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestResolutionFails(t *testing.T) {
	h := newHarness(t, Config{}).started()
	h.output(llUs, llN, 1)
	h.output(llUs, llN, 2)
	h.clk.Advance(10 * time.Second)
	fs := ofType(h.take(), TypeNeighborSolicit)
	if len(fs) != MaxMulticastSolicit || fs[1].at.Sub(fs[0].at) != RetransTimer {
		t.Fatalf("%d solicitations", len(fs))
	}
	if len(h.sink.got) != 2 || h.sink.got[0] != llN || len(h.unreachable) != 1 {
		t.Fatalf("reported %v, unreachable %v", h.sink.got, h.unreachable)
	}
	if _, ok := h.neighbor(llN); ok {
		t.Fatal("failed entry kept")
	}
	if s := h.stats(); s.ResolutionFailures != 1 || s.PendingDrops != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNUDThroughLoss(t *testing.T) {
	h := newHarness(t, Config{}).started()
	h.output(llUs, llN, 1)
	h.input(llN, llUs, na(llN, true, true, false, macN))
	h.take()
	// REACHABLE for ReachableTime (0.5-1.5 times 30s), then STALE.
	h.clk.Advance(46 * time.Second)
	if n, _ := h.neighbor(llN); n.State != StateStale {
		t.Fatalf("after 46s: %v", n.State)
	}
	// A packet: sent at once, DELAY.
	h.output(llUs, llN, 2)
	if n, _ := h.neighbor(llN); n.State != StateDelay {
		t.Fatalf("used while stale: %v", n.State)
	}
	fs := h.take()
	if len(fs) != 1 {
		t.Fatalf("%d frames", len(fs))
	}
	wantIPv6To(t, fs[0], llN, macN)
	// No confirmation in DELAY_FIRST_PROBE_TIME: PROBE, unicast NS.
	h.clk.Advance(DelayFirstProbeTime)
	if n, _ := h.neighbor(llN); n.State != StateProbe {
		t.Fatalf("after the delay: %v", n.State)
	}
	fs = h.take()
	if len(fs) != 1 {
		t.Fatalf("%d probes", len(fs))
	}
	wantND(t, fs[0], TypeNeighborSolicit, llUs, llN, macN)
	// Packets still go while probing.
	h.output(llUs, llN, 3)
	wantIPv6To(t, h.take()[0], llN, macN)
	// The probes are lost: three in all, then the entry goes.
	h.clk.Advance(3 * RetransTimer)
	if n := len(ofType(h.take(), TypeNeighborSolicit)); n != 2 {
		t.Fatalf("%d more probes", n)
	}
	if _, ok := h.neighbor(llN); ok || len(h.unreachable) != 1 || h.stats().ProbeFailures != 1 {
		t.Fatalf("after failed probes: unreachable %v, %+v", h.unreachable, h.stats())
	}
}

func TestNUDProbeAnswered(t *testing.T) {
	h := newHarness(t, Config{}).started()
	h.output(llUs, llN, 1)
	h.input(llN, llUs, na(llN, true, true, false, macN))
	h.clk.Advance(46 * time.Second)
	h.output(llUs, llN, 2)
	h.clk.Advance(DelayFirstProbeTime)
	h.input(llN, llUs, na(llN, true, false, false)) // a probe's answer needs no TLLA
	if n, _ := h.neighbor(llN); n.State != StateReachable || n.MAC != macN {
		t.Fatalf("after the answer: %+v", n)
	}
}

func TestStaleEntriesAge(t *testing.T) {
	h := newHarness(t, Config{StaleTime: time.Minute}).started()
	h.input(llN, inet.SolicitedNode(llUs), ns(llUs, macN))
	if n, _ := h.neighbor(llN); n.State != StateStale || n.MAC != macN {
		t.Fatalf("learned %+v", n)
	}
	h.clk.Advance(time.Minute)
	if _, ok := h.neighbor(llN); ok || h.stats().Expired != 1 {
		t.Fatal("unused STALE entry kept")
	}
}

// TestAdvertisementRules walks RFC 4861 §7.2.5's table.
func TestAdvertisementRules(t *testing.T) {
	other := inet.MAC{2, 0, 0, 0, 0, 0x99}
	for _, tc := range []struct {
		name                        string
		from                        State
		solicited, override, router bool
		tll                         []inet.MAC
		state                       State
		mac                         inet.MAC
	}{
		{"solicited, same address", StateStale, true, false, false, []inet.MAC{macN}, StateReachable, macN},
		{"solicited, no TLLA", StateStale, true, false, false, nil, StateReachable, macN},
		{"unsolicited, same address", StateStale, false, false, false, []inet.MAC{macN}, StateStale, macN},
		{"unsolicited, same address, reachable", StateReachable, false, true, false, []inet.MAC{macN}, StateReachable, macN},
		{"new address, no override, reachable", StateReachable, true, false, false, []inet.MAC{other}, StateStale, macN},
		{"new address, no override, stale", StateStale, true, false, false, []inet.MAC{other}, StateStale, macN},
		{"new address, override, unsolicited", StateReachable, false, true, false, []inet.MAC{other}, StateStale, other},
		{"new address, override, solicited", StateStale, true, true, false, []inet.MAC{other}, StateReachable, other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}).started()
			h.output(llUs, llN, 1)
			h.input(llN, llUs, na(llN, true, true, false, macN))
			if tc.from == StateStale {
				h.clk.Advance(46 * time.Second)
			}
			if n, _ := h.neighbor(llN); n.State != tc.from {
				t.Fatalf("set-up: %v", n.State)
			}
			h.input(llN, llUs, na(llN, tc.solicited, tc.override, tc.router, tc.tll...))
			n, _ := h.neighbor(llN)
			if n.State != tc.state || n.MAC != tc.mac {
				t.Fatalf("entry %v %v, want %v %v", n.State, n.MAC, tc.state, tc.mac)
			}
		})
	}
}

func TestUnsolicitedAdvertisementCreatesNothing(t *testing.T) {
	h := newHarness(t, Config{}).started()
	h.input(llN, inet.IPv6AllNodes, na(llN, false, true, false, macN))
	if _, ok := h.neighbor(llN); ok || h.stats().NAIgnored != 1 {
		t.Fatal("an unsolicited NA made an entry")
	}
	// A solicited one sent to a multicast address is invalid (§7.1.2).
	h.input(llN, inet.IPv6AllNodes, na(llN, true, true, false, macN))
	if h.stats().DropSolicited != 1 {
		t.Fatalf("stats %+v", h.stats())
	}
}

func TestIncompleteAnswerWithoutTLLA(t *testing.T) {
	h := newHarness(t, Config{}).started()
	h.output(llUs, llN, 1)
	h.input(llN, llUs, na(llN, true, true, false))
	if n, _ := h.neighbor(llN); n.State != StateIncomplete {
		t.Fatalf("an NA without TLLA completed resolution: %+v", n)
	}
}

func TestSolicitationAnswered(t *testing.T) {
	h := newHarness(t, Config{}).started()
	sn := inet.SolicitedNode(llUs)
	h.input(llN, sn, ns(llUs, macN))
	fs := h.take()
	if len(fs) != 1 {
		t.Fatalf("%d frames", len(fs))
	}
	m := wantND(t, fs[0], TypeNeighborAdvert, llUs, llN, macN)
	v, _ := ParseNA(m)
	want := NAFields{Solicited: true, Override: true, Target: llUs, Options: opts(&LinkAddrFields{OptTargetLinkAddr, macUs})}
	if f := v.Fields(); f.Solicited != want.Solicited || f.Override != want.Override || f.Router || f.Target != want.Target || string(f.Options) != string(want.Options) {
		t.Fatalf("NA %+v", f)
	}
	// A unicast probe without SLLA: answered to the entry we have.
	h.input(llN, llUs, ns(llUs))
	fs = h.take()
	if len(fs) != 1 {
		t.Fatalf("%d frames", len(fs))
	}
	wantND(t, fs[0], TypeNeighborAdvert, llUs, llN, macN)
	// For an address not ours: nothing.
	h.input(llN, inet.SolicitedNode(llR), ns(llR, macN))
	if len(h.take()) != 0 || h.stats().NSNotForUs != 1 {
		t.Fatal("answered for another address")
	}
	// From ::, to a unicast address or with an SLLA: invalid.
	h.input(inet.IPv6Unspecified, llUs, ns(llUs))
	h.input(inet.IPv6Unspecified, sn, ns(llUs, macN))
	if s := h.stats(); s.DropSource != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestSolicitationWithoutSLLAResolves(t *testing.T) {
	h := newHarness(t, Config{}).started()
	// A neighbor we know nothing of probes us without its address: we
	// answer after resolving it.
	h.input(llN, llUs, ns(llUs))
	fs := h.take()
	if len(fs) != 1 {
		t.Fatalf("%d frames", len(fs))
	}
	sn := inet.SolicitedNode(llN)
	wantND(t, fs[0], TypeNeighborSolicit, llUs, sn, inet.MulticastMAC(sn))
	h.input(llN, llUs, na(llN, true, true, false, macN))
	fs = h.take()
	if len(fs) != 1 {
		t.Fatalf("%d frames", len(fs))
	}
	wantND(t, fs[0], TypeNeighborAdvert, llUs, llN, macN)
}

func TestOutputErrors(t *testing.T) {
	h := newHarness(t, Config{}).started()
	if err := h.output(llUs, llUs, 1); err != ErrLocal {
		t.Fatalf("to ourselves: %v", err)
	}
	if err := h.output(llUs, addr("2001:db8::1"), 1); err != ErrNoRoute {
		t.Fatalf("off-link without router: %v", err)
	}
	if err := h.output(llUs, inet.IPv6AllNodes, 1); err != nil {
		t.Fatal(err)
	}
	fs := h.take()
	if len(fs) != 1 || decode(t, fs[0]).dstMAC != (inet.MAC{0x33, 0x33, 0, 0, 0, 1}) {
		t.Fatal("multicast not mapped to 33:33")
	}
}
