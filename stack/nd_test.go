package stack_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/ndp"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// waitAddr6 waits until s has an address for which ok holds, and
// returns it.
func waitAddr6(t *testing.T, s *stack.Stack, what string, ok func(ndp.AddrInfo) bool) ndp.AddrInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var got ndp.AddrInfo
	err := s.WaitAddrs6(ctx, func(as []ndp.AddrInfo) bool {
		i := slices.IndexFunc(as, ok)
		if i >= 0 {
			got = as[i]
		}
		return i >= 0
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; addresses %+v", what, err, s.Addrs6())
	}
	return got
}

func preferredLL(a ndp.AddrInfo) bool {
	return a.Kind == ndp.KindLinkLocal && a.Status == ndp.AddrPreferred
}

// TestND6ResolutionAndPing brings two stacks up with their defaults:
// each forms its link-local address, checks it with DAD and reports its
// groups with MLD; then they find each other by Neighbor Discovery, with
// and without a lossy link.
func TestND6ResolutionAndPing(t *testing.T) {
	for _, spec := range []string{"", "loss=0.1,reorder=0.1,dup=0.05,seed=5"} {
		t.Run("impair="+spec, func(t *testing.T) {
			wrap := func(mac inet.MAC, d netif.Device) netif.Device { return stacktest.Impair(t, d, spec, 0) }
			a, b := stacktest.PairWith(t, wrap)
			aLL := waitAddr6(t, a, "a's link-local address", preferredLL).Prefix.Addr
			bLL := waitAddr6(t, b, "b's link-local address", preferredLL).Prefix.Addr
			if aLL != stacktest.EUI64(inet.MustParseAddr("fe80::"), a.Device().MAC()) {
				t.Fatalf("a's link-local address %v is not its EUI-64 one", aLL)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for _, c := range []struct {
				from *stack.Stack
				to   inet.Addr
			}{{a, bLL}, {b, aLL}} {
				var err error
				for range 10 { // the link may lose a request or a reply
					pctx, pcancel := context.WithTimeout(ctx, time.Second)
					_, err = c.from.Ping(pctx, c.to, []byte("over ND"))
					pcancel()
					if err == nil {
						break
					}
				}
				if err != nil {
					t.Fatalf("ping %v: %v (ND %+v)", c.to, err, c.from.Stats().ND)
				}
			}
			a.Locker().Lock()
			mac, st, ok := a.LayersLocked().ND.Lookup(bLL)
			a.Locker().Unlock()
			if !ok || mac != b.Device().MAC() || st != ndp.StateReachable && st != ndp.StateStale && st != ndp.StateDelay {
				t.Fatalf("a's entry for b: %v %v %v", mac, st, ok)
			}
			sa := a.Stats()
			if sa.ND.NSSent == 0 || sa.ND.NAReceived == 0 || sa.ND.DADSucceeded == 0 || sa.MLD.ReportsSent == 0 || sa.ND.RSSent == 0 {
				t.Fatalf("a's ND %+v, MLD %+v", sa.ND, sa.MLD)
			}
			if g := a.LayersLocked().Eth.Groups(nil); !slices.Contains(g, inet.MulticastMAC(inet.SolicitedNode(aLL))) || !slices.Contains(g, inet.MulticastMAC(inet.IPv6AllNodes)) {
				t.Fatalf("Ethernet groups %v", g)
			}
		})
	}
}

// switch3 is a switch with stacks added one by one.
type switch3 struct {
	t  *testing.T
	sw *memlink.Switch
}

func newSwitch(t *testing.T) *switch3 {
	sw := memlink.NewSwitch(memlink.Config{})
	t.Cleanup(func() { sw.Close() })
	return &switch3{t, sw}
}

func (s *switch3) stack(mac inet.MAC, cfg stack.Config) *stack.Stack {
	st, err := stack.New(s.sw.NewPort(mac, 1500), cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { st.Close() })
	return st
}

type dupReport struct {
	a     inet.Addr
	from  inet.MAC
	inUse bool
}

// dupHook records what SetDuplicateHook6 reports.
type dupHook struct {
	mu  sync.Mutex
	got []dupReport
}

func (d *dupHook) hook(a inet.Addr, from inet.MAC, inUse bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, dupReport{a, from, inUse})
}

func (d *dupHook) reports() []dupReport {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.got)
}

// TestDAD6ConflictStatic: a second stack configured with an address the
// first already uses must not take it, and says so.
func TestDAD6ConflictStatic(t *testing.T) {
	sw := newSwitch(t)
	p, _ := inet.ParsePrefix6("fd00:7::7/64")
	a := sw.stack(inet.MAC{2, 0, 0, 0, 0, 1}, stack.Config{Addrs6: []inet.Prefix6{p}})
	var ah, bh dupHook
	a.SetDuplicateHook6(ah.hook)
	waitAddr6(t, a, "a's static address", func(ai ndp.AddrInfo) bool { return ai.Prefix.Addr == p.Addr && ai.Status == ndp.AddrPreferred })
	b := sw.stack(inet.MAC{2, 0, 0, 0, 0, 2}, stack.Config{})
	b.SetDuplicateHook6(bh.hook)
	waitAddr6(t, b, "b's link-local address", preferredLL)
	if err := b.AddAddr6(p); err != nil {
		t.Fatal(err)
	}
	got := waitAddr6(t, b, "b's duplicate", func(ai ndp.AddrInfo) bool { return ai.Prefix.Addr == p.Addr && ai.Status == ndp.AddrDuplicate })
	if got.Kind != ndp.KindStatic {
		t.Fatalf("b's address %+v", got)
	}
	if r := bh.reports(); len(r) != 1 || r[0] != (dupReport{p.Addr, a.Device().MAC(), false}) {
		t.Fatalf("b reported %v", r)
	}
	b.Locker().Lock()
	_, inTable := b.LayersLocked().IPv6.AddrLocked(p.Addr)
	b.Locker().Unlock()
	if inTable {
		t.Fatal("b's IPv6 layer holds the duplicate")
	}
	// a keeps it (and heard b's probe).
	if ai := waitAddr6(t, a, "a's address", func(ai ndp.AddrInfo) bool { return ai.Prefix.Addr == p.Addr }); ai.Status != ndp.AddrPreferred {
		t.Fatalf("a's address %+v", ai)
	}
	if r := ah.reports(); len(r) != 1 || !r[0].inUse {
		t.Fatalf("a reported %v", r)
	}
}

// TestDAD6SameMAC: two stacks with one MAC form the same EUI-64
// link-local address; the second finds the first using it.
func TestDAD6SameMAC(t *testing.T) {
	sw := newSwitch(t)
	mac := inet.MAC{2, 0, 0, 0, 0, 9}
	a := sw.stack(mac, stack.Config{})
	ll := waitAddr6(t, a, "a's link-local address", preferredLL).Prefix.Addr
	var bh dupHook
	b := sw.stack(mac, stack.Config{ND: ndp.Config{OnDuplicate: bh.hook}})
	waitAddr6(t, b, "b's duplicate", func(ai ndp.AddrInfo) bool { return ai.Prefix.Addr == ll && ai.Status == ndp.AddrDuplicate })
	if r := bh.reports(); len(r) != 1 || r[0].a != ll || r[0].inUse {
		t.Fatalf("b reported %v", r)
	}
	if ai := waitAddr6(t, a, "a's link-local address", preferredLL); ai.Prefix.Addr != ll {
		t.Fatalf("a lost its address: %+v", ai)
	}
}

// testRouter is a memlink port on which the test plays a router: it
// sends advertisements and answers solicitations for its link-local
// address. It is not a router feature of the stack.
type testRouter struct {
	t    *testing.T
	port *memlink.Port
	mac  inet.MAC
	ll   inet.Addr
	mu   sync.Mutex
	rx   [][]byte // IPv6 packets received
}

func newTestRouter(t *testing.T, sw *switch3) *testRouter {
	r := &testRouter{t: t, mac: inet.MAC{2, 0, 0, 0, 0, 0xfe}}
	r.ll = stacktest.EUI64(inet.MustParseAddr("fe80::"), r.mac)
	r.port = sw.sw.NewPort(r.mac, 1500)
	r.port.SetHandler(r.input)
	return r
}

func (r *testRouter) input(f []byte, _ netif.RxMeta) {
	if len(f) < 14+40 || f[12] != 0x86 || f[13] != 0xdd {
		return
	}
	ip := bytes.Clone(f[14:])
	r.mu.Lock()
	r.rx = append(r.rx, ip)
	r.mu.Unlock()
	h, err := ipv6.ParseHeader(ip)
	if err != nil || h.NextHeader() != inet.ProtoICMPv6 {
		return
	}
	if ns, err := ndp.ParseNS(h.Payload()); err == nil && ns.Target() == r.ll && !h.Src().IsUnspecified() {
		lo, _ := ndp.ParseOptions(ns.Options())
		var mac inet.MAC
		for len(lo) > 0 {
			var o ndp.Option
			o, lo = lo.Next()
			if v, err := ndp.ParseLinkAddr(o); err == nil {
				mac = v.MAC()
			}
		}
		na := ndp.NAFields{Router: true, Solicited: true, Override: true, Target: r.ll,
			Options: enc(&ndp.LinkAddrFields{Type: ndp.OptTargetLinkAddr, MAC: r.mac})}
		r.send(mac, r.ll, h.Src(), enc(&na))
	}
}

// received returns the packets received so far to dst.
func (r *testRouter) received(dst inet.Addr) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]byte
	for _, p := range r.rx {
		if ipv6.Header(p).Dst() == dst {
			out = append(out, p)
		}
	}
	return out
}

type encoder interface {
	Len() int
	Encode([]byte) (int, error)
}

func enc(es ...encoder) []byte {
	var out []byte
	for _, e := range es {
		b := make([]byte, e.Len())
		e.Encode(b)
		out = append(out, b...)
	}
	return out
}

// send sends an ND message m from src to dst at mac, hop limit 255.
func (r *testRouter) send(mac inet.MAC, src, dst inet.Addr, m []byte) {
	icmpv6.SetChecksum(m, src, dst, 0, 0)
	b := pkt.New(14+40+len(m), 14+40)
	copy(b.Append(len(m)), m)
	h, _ := b.Prepend(40)
	f := ipv6.Fields{PayloadLen: uint16(len(m)), NextHeader: inet.ProtoICMPv6, HopLimit: 255, Src: src, Dst: dst}
	f.Encode(h)
	e, _ := b.Prepend(14)
	copy(e[0:6], mac[:])
	copy(e[6:12], r.mac[:])
	e[12], e[13] = 0x86, 0xdd
	if err := r.port.Transmit(b); err != nil {
		r.t.Fatal(err)
	}
}

// advertise sends a router advertisement to all nodes.
func (r *testRouter) advertise(f ndp.RAFields) {
	f.Options = append(f.Options, enc(&ndp.LinkAddrFields{Type: ndp.OptSourceLinkAddr, MAC: r.mac})...)
	r.send(inet.MulticastMAC(inet.IPv6AllNodes), r.ll, inet.IPv6AllNodes, enc(&f))
}

// TestSLAAC6FromRouterAdvertisement: a stack takes an address in the
// advertised prefix, the router as its default route and the RDNSS
// servers, and another stack reaches it at that address.
func TestSLAAC6FromRouterAdvertisement(t *testing.T) {
	sw := newSwitch(t)
	a := sw.stack(inet.MAC{2, 0, 0, 0, 0, 1}, stack.Config{})
	b := sw.stack(inet.MAC{2, 0, 0, 0, 0, 2}, stack.Config{})
	c := sw.stack(inet.MAC{2, 0, 0, 0, 0, 3}, stack.Config{ND: ndp.Config{DisableSLAAC: true}})
	r := newTestRouter(t, sw)
	for _, s := range []*stack.Stack{a, b, c} {
		waitAddr6(t, s, "a link-local address", preferredLL)
	}
	prefix := inet.MustParseAddr("2001:db8:77::")
	dns := inet.MustParseAddr("2001:db8:77::53")
	r.advertise(ndp.RAFields{CurHopLimit: 64, RouterLifetime: 1800, Options: enc(
		&ndp.PrefixInfoFields{PrefixLen: 64, OnLink: true, Autonomous: true, Valid: 86400, Preferred: 14400, Prefix: prefix},
		&ndp.RDNSSFields{Lifetime: 600, Servers: []inet.Addr{dns}},
		&ndp.MTUFields{MTU: 1400})})
	in := func(ai ndp.AddrInfo) bool {
		return ai.Kind == ndp.KindSLAAC && ai.Status == ndp.AddrPreferred && (inet.Prefix6{Addr: prefix, Bits: 64}).Contains(ai.Prefix.Addr)
	}
	aG := waitAddr6(t, a, "a's SLAAC address", in)
	bG := waitAddr6(t, b, "b's SLAAC address", in)
	if aG.Prefix.Addr == bG.Prefix.Addr || aG.ValidUntil.IsZero() {
		t.Fatalf("SLAAC addresses %+v %+v", aG, bG)
	}
	if r := a.Routers6(); len(r) != 1 || r[0] != stacktest.EUI64(inet.MustParseAddr("fe80::"), inet.MAC{2, 0, 0, 0, 0, 0xfe}) {
		t.Fatalf("a's routers %v", r)
	}
	if d := a.DNSServers6(); len(d) != 1 || d[0].Addr != dns {
		t.Fatalf("a's DNS servers %v", d)
	}
	if as := c.Addrs6(); len(as) != 1 {
		t.Fatalf("c, SLAAC off, has %+v", as)
	}
	a.Locker().Lock()
	mtu := a.LayersLocked().IPv6.LinkMTU()
	a.Locker().Unlock()
	if mtu != 1400 {
		t.Fatalf("a's link MTU %d", mtu)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.Ping(ctx, aG.Prefix.Addr, []byte("to a SLAAC address")); err != nil {
		t.Fatalf("ping %v: %v", aG.Prefix.Addr, err)
	}
	// Off-link traffic goes to the router, found by ND.
	far := inet.MustParseAddr("2001:db8:99::1")
	pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	a.Ping(pctx, far, nil)
	pcancel()
	stacktest.WaitFor(t, "a's ping at the router", 5*time.Second, func() bool { return len(r.received(far)) > 0 })
	if p := ipv6.Header(r.received(far)[0]); p.Src() != aG.Prefix.Addr {
		t.Fatalf("sent from %v", p.Src())
	}
	// TCP heard of the advertised MTU: a SYN through the router offers
	// MSS 1400-60.
	dctx, dcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	a.TCP().Dial(dctx, far.AddrPort(80))
	dcancel()
	var mss int
	for _, p := range r.received(far) {
		h := ipv6.Header(p)
		if b := h.Payload(); h.NextHeader() == inet.ProtoTCP && len(b) >= 24 && b[13]&2 != 0 && b[20] == 2 {
			mss = int(b[22])<<8 | int(b[23])
		}
	}
	if mss != 1340 {
		t.Fatalf("our SYN offered MSS %d, want 1340", mss)
	}
	// The router leaves: no route.
	r.advertise(ndp.RAFields{RouterLifetime: 0})
	stacktest.WaitFor(t, "a to drop the router", 5*time.Second, func() bool { return len(a.Routers6()) == 0 })
}

// TestNUD6ThroughLoss: with a router advertising short reachable and
// retransmission times (1s), a's entry for b goes REACHABLE, STALE,
// DELAY when used, PROBE, and REACHABLE again when b answers the probe;
// with b's cable pulled the probes go unanswered and the entry goes;
// with it back b is resolved anew.
func TestNUD6ThroughLoss(t *testing.T) {
	sw := newSwitch(t)
	a := sw.stack(inet.MAC{2, 0, 0, 0, 0, 1}, stack.Config{})
	bPort := sw.sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 2}, 1500)
	b, err := stack.New(bPort, stack.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	r := newTestRouter(t, sw)
	waitAddr6(t, a, "a's link-local address", preferredLL)
	bLL := waitAddr6(t, b, "b's link-local address", preferredLL).Prefix.Addr
	r.advertise(ndp.RAFields{ReachableTime: 1000, RetransTimer: 1000})
	stacktest.WaitFor(t, "the advertisement", 5*time.Second, func() bool { return a.Stats().ND.RAReceived == 1 })
	state := func() ndp.State {
		a.Locker().Lock()
		defer a.Locker().Unlock()
		_, st, ok := a.LayersLocked().ND.Lookup(bLL)
		if !ok {
			return ndp.StateFree
		}
		return st
	}
	ping := func(d time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		_, err := a.Ping(ctx, bLL, []byte("nud"))
		return err
	}
	if err := ping(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	// An echo reply confirms nothing (no upper-layer hints): the entry
	// is REACHABLE from the solicitation's answer, for 0.5-1.5 s.
	stacktest.WaitFor(t, "STALE", 5*time.Second, func() bool { return state() == ndp.StateStale })
	probes := a.Stats().ND.NSSent
	if err := ping(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if st := state(); st != ndp.StateDelay {
		t.Fatalf("used while STALE: %v", st)
	}
	// DELAY_FIRST_PROBE_TIME (5 s), then a unicast probe b answers.
	stacktest.WaitFor(t, "REACHABLE after a probe", 10*time.Second, func() bool { return state() == ndp.StateReachable })
	if a.Stats().ND.NSSent <= probes {
		t.Fatal("no probe sent")
	}
	// b's cable out: the probes go unanswered.
	bPort.SetLinkUp(false)
	stacktest.WaitFor(t, "STALE", 5*time.Second, func() bool { return state() == ndp.StateStale })
	ping(100 * time.Millisecond)
	stacktest.WaitFor(t, "PROBE", 10*time.Second, func() bool { return state() == ndp.StateProbe })
	stacktest.WaitFor(t, "the entry to go", 10*time.Second, func() bool { return state() == ndp.StateFree })
	if s := a.Stats().ND; s.ProbeFailures != 1 {
		t.Fatalf("ND %+v", s)
	}
	bPort.SetLinkUp(true)
	if err := ping(5 * time.Second); err != nil {
		t.Fatalf("after the cable came back: %v", err)
	}
	if st := state(); st != ndp.StateReachable {
		t.Fatalf("resolved anew: %v", st)
	}
}
