package ndp

import (
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
)

func TestStartLinkLocalDADThenRS(t *testing.T) {
	h := newHarness(t, Config{})
	h.do(h.nd.Start)
	if st := h.ip.addrs[llUs]; st != ipv6.StateTentative {
		t.Fatalf("link-local in the table as %v, want tentative", st)
	}
	if len(h.take()) != 0 {
		t.Fatal("sent before the random delay (RFC 4862 §5.4.2)")
	}
	h.clk.Advance(MaxRtrSolicitationDelay)
	fs := h.take()
	if len(fs) != 1 {
		t.Fatalf("%d frames after the delay, want the DAD probe", len(fs))
	}
	sn := inet.SolicitedNode(llUs)
	if h.ip.groups[sn] != 1 {
		t.Fatal("solicited-node group not joined before the probe")
	}
	m := wantND(t, fs[0], TypeNeighborSolicit, inet.IPv6Unspecified, sn, inet.MulticastMAC(sn))
	v, _ := ParseNS(m)
	op, rest := v.Options().Next()
	if v.Target() != llUs || op.Type() != OptNonce || len(rest) != 0 {
		t.Fatalf("DAD probe %+v: want target %v and a nonce alone", v.Fields(), llUs)
	}
	h.clk.Advance(RetransTimer)
	if st := h.ip.addrs[llUs]; st != ipv6.StatePreferred {
		t.Fatalf("after DAD: %v", st)
	}
	fs = h.take()
	if len(fs) != 1 {
		t.Fatalf("%d frames after DAD, want one RS", len(fs))
	}
	m = wantND(t, fs[0], TypeRouterSolicit, llUs, inet.IPv6AllRouters, inet.MulticastMAC(inet.IPv6AllRouters))
	if rs, _ := ParseRS(m); string(rs.Options()) != string(sllOpt(macUs)) {
		t.Fatalf("RS options % x", rs.Options())
	}
	// Two more, 4s apart, then none (RFC 4861 §6.3.7).
	h.clk.Advance(10 * RtrSolicitationInterval)
	fs = h.take()
	if len(fs) != 2 || fs[1].at.Sub(fs[0].at) != RtrSolicitationInterval {
		t.Fatalf("%d more RSs", len(fs))
	}
	if s := h.stats(); s.RSSent != 3 || s.DADSucceeded != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRSStopsOnAdvertisement(t *testing.T) {
	h := newHarness(t, Config{})
	h.do(h.nd.Start)
	h.clk.Advance(MaxRtrSolicitationDelay + RetransTimer)
	h.take()
	h.input(llR, inet.IPv6AllNodes, ra(1800, sllOpt(macR)))
	h.clk.Advance(time.Minute)
	if n := len(ofType(h.take(), TypeRouterSolicit)); n != 0 {
		t.Fatalf("%d RSs after an RA", n)
	}
}

func TestDADOff(t *testing.T) {
	h := newHarness(t, Config{DADTransmits: -1})
	h.do(h.nd.Start)
	h.clk.Advance(MaxRtrSolicitationDelay)
	if st := h.ip.addrs[llUs]; st != ipv6.StatePreferred {
		t.Fatalf("link-local %v with DAD off", st)
	}
	if n := len(ofType(h.take(), TypeNeighborSolicit)); n != 0 {
		t.Fatalf("%d probes with DAD off", n)
	}
}

func TestDADTransmits(t *testing.T) {
	h := newHarness(t, Config{DADTransmits: 3})
	h.do(h.nd.Start)
	h.clk.Advance(MaxRtrSolicitationDelay + 2*RetransTimer)
	if st := h.ip.addrs[llUs]; st != ipv6.StateTentative {
		t.Fatalf("assigned after 2 of 3 probes: %v", st)
	}
	h.clk.Advance(RetransTimer)
	if n := len(ofType(h.take(), TypeNeighborSolicit)); n != 3 || h.ip.addrs[llUs] != ipv6.StatePreferred {
		t.Fatalf("%d probes, state %v", n, h.ip.addrs[llUs])
	}
}

// dadFrom starts the layer and stops in the middle of DAD, with the
// link-local probe sent; it returns the probe's nonce.
func dadStarted(t *testing.T, cfg Config) (*harness, []byte) {
	h := newHarness(t, cfg)
	h.do(h.nd.Start)
	h.clk.Advance(MaxRtrSolicitationDelay)
	fs := ofType(h.take(), TypeNeighborSolicit)
	if len(fs) != 1 {
		t.Fatalf("%d probes", len(fs))
	}
	m := decode(t, fs[0]).payload
	v, _ := ParseNS(m)
	op, _ := v.Options().Next()
	n, _ := ParseNonce(op)
	return h, n.Nonce()
}

func TestDADConflicts(t *testing.T) {
	sn := inet.SolicitedNode(llUs)
	for _, tc := range []struct {
		name    string
		deliver func(h *harness, nonce []byte)
		dup     bool
		from    inet.MAC
	}{
		{"advertisement claims it", func(h *harness, _ []byte) {
			h.input(llUs, inet.IPv6AllNodes, na(llUs, false, true, false, macN))
		}, true, macN},
		{"another node probes it", func(h *harness, _ []byte) {
			f := NSFields{Target: llUs, Options: opts(&NonceFields{[6]byte{9, 9, 9, 9, 9, 9}})}
			h.input(inet.IPv6Unspecified, sn, msg(&f))
		}, true, inet.MAC{}},
		{"another node probes it without nonce", func(h *harness, _ []byte) {
			h.input(inet.IPv6Unspecified, sn, ns(llUs))
		}, true, inet.MAC{}},
		{"our own probe looped back", func(h *harness, nonce []byte) {
			f := NSFields{Target: llUs, Options: opts(&NonceFields{[6]byte(nonce)})}
			h.input(inet.IPv6Unspecified, sn, msg(&f))
		}, false, inet.MAC{}},
		{"someone resolves it", func(h *harness, _ []byte) {
			h.input(llN, sn, ns(llUs, macN))
		}, false, inet.MAC{}},
		{"a forwarded advertisement", func(h *harness, _ []byte) {
			h.inputHop(llUs, inet.IPv6AllNodes, 254, na(llUs, false, true, false, macN))
		}, false, inet.MAC{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, nonce := dadStarted(t, Config{})
			tc.deliver(h, nonce)
			h.clk.Advance(time.Minute)
			ai, _ := h.addr(llUs)
			if !tc.dup {
				if ai.Status != AddrPreferred || len(h.dups) != 0 {
					t.Fatalf("status %v, reports %v; want preferred", ai.Status, h.dups)
				}
				if n := len(ofType(h.take(), TypeNeighborAdvert)); n != 0 {
					t.Fatalf("answered %d times for a tentative address", n)
				}
				return
			}
			if ai.Status != AddrDuplicate {
				t.Fatalf("status %v, want duplicate", ai.Status)
			}
			if _, ok := h.ip.addrs[llUs]; ok || h.ip.groups[sn] != 0 {
				t.Fatal("a duplicate address is still in the IPv6 table or its group")
			}
			if len(h.dups) != 1 || h.dups[0] != (dupReport{llUs, tc.from, false}) {
				t.Fatalf("reports %v", h.dups)
			}
			if s := h.stats(); s.DADFailed != 1 {
				t.Fatalf("stats %+v", s)
			}
			// Router solicitation goes on from :: without our MAC.
			rs := ofType(h.take(), TypeRouterSolicit)
			if len(rs) == 0 {
				t.Fatal("no RS after the link-local address failed")
			}
			m := wantND(t, rs[0], TypeRouterSolicit, inet.IPv6Unspecified, inet.IPv6AllRouters, inet.MulticastMAC(inet.IPv6AllRouters))
			if len(m) != RSLen {
				t.Fatalf("RS from :: with options % x", m)
			}
		})
	}
}

func TestDefendAddressInUse(t *testing.T) {
	h := newHarness(t, Config{}).started()
	sn := inet.SolicitedNode(llUs)
	h.input(inet.IPv6Unspecified, sn, ns(llUs))
	fs := h.take()
	if len(fs) != 1 {
		t.Fatalf("%d frames, want an NA to all-nodes", len(fs))
	}
	m := wantND(t, fs[0], TypeNeighborAdvert, llUs, inet.IPv6AllNodes, inet.MulticastMAC(inet.IPv6AllNodes))
	v, _ := ParseNA(m)
	if v.Solicited() || !v.Override() || v.Target() != llUs || string(v.Options()) != string(opts(&LinkAddrFields{OptTargetLinkAddr, macUs})) {
		t.Fatalf("NA %+v", v.Fields())
	}
	if len(h.dups) != 1 || !h.dups[0].inUse {
		t.Fatalf("reports %v", h.dups)
	}
	// An advertisement claiming it is reported; the address stays.
	h.input(llN, inet.IPv6AllNodes, na(llUs, false, true, false, macN))
	if ai, _ := h.addr(llUs); ai.Status != AddrPreferred || len(h.dups) != 2 || h.dups[1] != (dupReport{llUs, macN, true}) {
		t.Fatalf("status %v, reports %v", ai.Status, h.dups)
	}
}

func TestStaticAddress(t *testing.T) {
	h := newHarness(t, Config{})
	p, _ := inet.ParsePrefix6("2001:db8:5::7/64")
	h.do(func() {
		if err := h.nd.AddStatic(p, 0); err != nil {
			t.Fatal(err)
		}
	})
	if st := h.ip.addrs[p.Addr]; st != ipv6.StateTentative {
		t.Fatalf("static address before Start: %v", st)
	}
	h.started()
	if ai, _ := h.addr(p.Addr); ai.Status != AddrPreferred || ai.Kind != KindStatic || !ai.ValidUntil.IsZero() {
		t.Fatalf("static %+v", ai)
	}
	// Its prefix is on-link: a neighbor in it is resolved directly.
	if err := h.output(p.Addr, addr("2001:db8:5::9"), 1); err != nil {
		t.Fatal(err)
	}
	ns := ofType(h.take(), TypeNeighborSolicit)
	if len(ns) != 1 {
		t.Fatalf("%d solicitations", len(ns))
	}
	tgt := inet.SolicitedNode(addr("2001:db8:5::9"))
	wantND(t, ns[0], TypeNeighborSolicit, p.Addr, tgt, inet.MulticastMAC(tgt))
	h.do(func() {
		if err := h.nd.RemoveStatic(p.Addr); err != nil {
			t.Fatal(err)
		}
	})
	if _, ok := h.ip.addrs[p.Addr]; ok {
		t.Fatal("removed static still in the table")
	}
	if err := h.output(llUs, addr("2001:db8:5::10"), 1); err != ErrNoRoute {
		t.Fatalf("after removal, off-link without router: %v", err)
	}
	h.do(func() {
		for _, bad := range []string{"::/64", "ff02::1/64", "::1/128", "2001:db8::1/0"} {
			p, _ := inet.ParsePrefix6(bad)
			if err := h.nd.AddStatic(p, 0); err != ErrAddr {
				t.Errorf("AddStatic(%s): %v", bad, err)
			}
		}
	})
}

func TestStaticDuplicate(t *testing.T) {
	h := newHarness(t, Config{}).started()
	p, _ := inet.ParsePrefix6("2001:db8:5::7/64")
	h.do(func() { h.nd.AddStatic(p, 0) })
	h.input(p.Addr, inet.IPv6AllNodes, na(p.Addr, false, true, false, macN))
	h.clk.Advance(time.Hour)
	if ai, _ := h.addr(p.Addr); ai.Status != AddrDuplicate {
		t.Fatalf("static %+v", ai)
	}
	if len(h.dups) != 1 || h.dups[0].a != p.Addr {
		t.Fatalf("reports %v", h.dups)
	}
}

func TestStaticNoDAD(t *testing.T) {
	h := newHarness(t, Config{})
	h.do(h.nd.Start)
	p, _ := inet.ParsePrefix6("fd00:6::1/64")
	h.do(func() {
		h.nd.AddStatic(p, NoDAD)
		// The link-local address, in its random delay before DAD.
		h.nd.AddStatic(inet.Prefix6{Addr: llUs, Bits: 64}, NoDAD)
	})
	for _, a := range []inet.Addr{p.Addr, llUs} {
		if st := h.ip.addrs[a]; st != ipv6.StatePreferred || h.ip.groups[inet.SolicitedNode(a)] != 1 {
			t.Fatalf("%v: %v, group %d", a, st, h.ip.groups[inet.SolicitedNode(a)])
		}
	}
	h.clk.Advance(time.Minute)
	if n := len(ofType(h.take(), TypeNeighborSolicit)); n != 0 {
		t.Fatalf("%d DAD probes for no-DAD addresses", n)
	}
	if ai, _ := h.addr(llUs); ai.Status != AddrPreferred || ai.Kind != KindLinkLocal {
		t.Fatalf("link-local %+v", ai)
	}
}
