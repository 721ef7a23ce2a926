package hostile

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ndp"
)

// Case 14: IPv6 Neighbor Discovery and address autoconfiguration
// (RFC 4861, RFC 4862, RFC 6980).

var (
	prefix6 = a6("2001:db8:1::")
	far6    = a6("2001:db8:99::1") // off-link: through the router
	evilMAC = inet.MAC{0x02, 0xee, 0, 0, 0, 1}
	evilLL  = ll6(evilMAC)
)

// up6 lets the victim's link-local address through DAD, then plays the
// router gw: an advertisement with 2001:db8:1::/64 (on-link,
// autonomous, valid for a day) and its link-layer address; the victim
// takes a SLAAC address, which up6 returns.
func (v *victim) up6() inet.Addr {
	v.t.Helper()
	v.advance(3 * time.Second)
	v.inject(raFrame(gwMAC, gwLL, 255, 1800, optPrefix(prefix6, 64, true, true, 86400, 86400), optLL(1, gwMAC)))
	v.advance(2 * time.Second)
	v.take()
	for _, a := range v.s.Addrs6() {
		if a.Kind == ndp.KindSLAAC && a.Status == ndp.AddrPreferred {
			return a.Prefix.Addr
		}
	}
	v.t.Fatalf("no SLAAC address: %+v (ND %+v)", v.s.Addrs6(), v.stats().ND)
	return inet.Addr{}
}

// send6 has the victim send one echo request to dst and returns the MAC
// it went to (zero if it was queued for resolution).
func (v *victim) send6(dst inet.Addr) inet.MAC {
	v.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v.s.Ping(ctx, dst, []byte("probe"))
	var mac inet.MAC
	for _, o := range v.sent() {
		if o.icmp6Type() == 128 && o.ip6.dst == dst {
			mac = o.dst
		}
	}
	return mac
}

// nd returns the victim's ND counters.
func (v *victim) nd() ndp.Stats { return v.stats().ND }

// knowsPeer6 makes the peer's link-local address known to the victim:
// it solicits the victim's with its link-layer address (a STALE entry,
// RFC 4861 §7.2.3).
func (v *victim) knowsPeer6() {
	v.inject(nsFrame(peerMAC, peerLL, snode(victimLL), victimLL, optLL(1, peerMAC)))
	v.take()
}

func TestNDForgedRedirects(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ours := v.up6()
	if mac := v.send6(far6); mac != gwMAC {
		t.Fatalf("off-link traffic went to %v, not the router", mac)
	}
	v.knowsPeer6()
	redirect := func(mac inet.MAC, src inet.Addr, hop uint8, target inet.Addr, opts ...[]byte) []byte {
		body := cat(append([][]byte{addr16(addr16(nil, target), far6)}, opts...)...)
		return nd6Frame(mac, src, ours, hop, 137, 0, body)
	}
	tll := optLL(2, evilMAC)
	for _, c := range []struct {
		name  string
		frame []byte
		drop  func(ndp.Stats) uint64
	}{
		{"hop limit 254", redirect(gwMAC, gwLL, 254, evilLL, tll), func(s ndp.Stats) uint64 { return s.DropHopLimit }},
		{"hop limit 64", redirect(gwMAC, gwLL, 64, evilLL, tll), func(s ndp.Stats) uint64 { return s.DropHopLimit }},
		{"not from our router", redirect(evilMAC, evilLL, 255, evilLL, tll), func(s ndp.Stats) uint64 { return s.DropRedirectSource }},
		{"from a global address", redirect(gwMAC, a6("2001:db8:1::fe"), 255, evilLL, tll), func(s ndp.Stats) uint64 { return s.DropSource }},
		{"to a global target", redirect(gwMAC, gwLL, 255, a6("2001:db8:1::66"), tll), func(s ndp.Stats) uint64 { return s.DropTarget }},
		{"bad TLLA", redirect(gwMAC, gwLL, 255, evilLL, []byte{2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), func(s ndp.Stats) uint64 { return s.DropOption }},
	} {
		before := c.drop(v.nd())
		noPanic(t, c.name, c.frame, func() { v.inject(c.frame) })
		if got := c.drop(v.nd()) - before; got != 1 {
			t.Errorf("%s: counted %d times", c.name, got)
		}
		if mac := v.send6(far6); mac != gwMAC {
			t.Fatalf("%s: off-link traffic now goes to %v", c.name, mac)
		}
	}
	// A redirect in fragments (RFC 6980 §5).
	m := icmp6m(gwLL, ours, 137, 0, 0, cat(addr16(addr16(nil, evilLL), far6), tll))
	for _, f := range fragFrames(gwMAC, gwLL, ours, 255, 7, m, 24) {
		v.inject(f)
	}
	if v.nd().DropFragmented != 1 {
		t.Fatalf("fragmented redirect: %+v", v.nd())
	}
	if mac := v.send6(far6); mac != gwMAC {
		t.Fatalf("fragmented redirect followed: traffic to %v", mac)
	}
	// The real router's redirect is followed: the forged ones would have
	// worked.
	v.inject(redirect(gwMAC, gwLL, 255, peerLL, optLL(2, peerMAC)))
	if mac := v.send6(far6); mac != peerMAC || v.nd().RedirectsReceived != 1 {
		t.Fatalf("valid redirect not followed: traffic to %v", mac)
	}
}

func TestNDForgedRouterAdvertisements(t *testing.T) {
	v := newVictim(t, stack.Config{})
	v.advance(3 * time.Second)
	v.take()
	evilPrefix := a6("2001:db8:666::")
	opts := [][]byte{optPrefix(evilPrefix, 64, true, true, 86400, 86400), optMTU(1280), optLL(1, evilMAC)}
	frames := map[string][]byte{
		"hop limit 254":         raFrame(evilMAC, evilLL, 254, 1800, opts...),
		"hop limit 1":           raFrame(evilMAC, evilLL, 1, 1800, opts...),
		"global source":         raFrame(evilMAC, a6("2001:db8:666::1"), 255, 1800, opts...),
		"unspecified source":    raFrame(evilMAC, a6("::"), 255, 1800, opts...),
		"option of length zero": raFrame(evilMAC, evilLL, 255, 1800, optLL(1, evilMAC), []byte{3, 0, 0, 0, 0, 0, 0, 0}),
	}
	m := icmp6m(evilLL, allNodes, 134, 0, raRest(64, 1800), raBody(opts...))
	for i, f := range fragFrames(evilMAC, evilLL, allNodes, 255, 9, m, 32) {
		frames["fragment "+itoa(i)] = f
	}
	for i, f := range fragFrames(evilMAC, evilLL, allNodes, 255, 10, m, 1000) {
		frames["atomic fragment "+itoa(i)] = f
	}
	for name, f := range frames {
		noPanic(t, name, f, func() { v.inject(f) })
	}
	v.advance(5 * time.Second)
	s := v.nd()
	if s.RAReceived != 0 || len(v.s.Routers6()) != 0 || len(v.s.Addrs6()) != 1 {
		t.Fatalf("a forged RA was taken: routers %v, addresses %+v, %+v", v.s.Routers6(), v.s.Addrs6(), s)
	}
	if s.DropHopLimit != 2 || s.DropSource != 2 || s.DropFragmented != 2 || s.DropOptionLen != 1 {
		t.Fatalf("drops not counted by reason: %+v", s)
	}
	v.s.Locker().Lock()
	mtu := v.s.LayersLocked().IPv6.LinkMTU()
	v.s.Locker().Unlock()
	if mtu != 1500 {
		t.Fatalf("link MTU %d", mtu)
	}
}

func TestNDCacheFlood(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ours := v.up6()
	v.knowsPeer6()
	if mac := v.send6(peerLL); mac != peerMAC {
		t.Fatalf("peer at %v", mac)
	}
	v.dev.record = false
	// Solicitations from 20,000 sources, each with its link-layer
	// address (each would be a STALE entry), and unsolicited
	// advertisements for 20,000 more.
	for i := range 20000 {
		mac := inet.MAC{0x02, 0xf0, 0, byte(i >> 16), byte(i >> 8), byte(i)}
		src := ll6(mac)
		v.inject(nsFrame(mac, src, snode(ours), ours, optLL(1, mac)))
		na := inet.MAC{0x02, 0xf1, 0, byte(i >> 16), byte(i >> 8), byte(i)}
		v.inject(naFrame(na, ll6(na), allNodes, ll6(na), 0x20, optLL(2, na)))
		if i%1000 == 0 {
			v.send6(peerLL) // the peer is in use
		}
	}
	// The victim itself scans the on-link /64 (RFC 6583 §3.2).
	for i := range 3000 {
		b := prefix6.As16()
		binary.BigEndian.PutUint32(b[12:], uint32(i+1))
		v.send6(inet.AddrFrom16(b))
	}
	v.dev.record = true
	s := v.nd()
	if s.CacheSize > ndp.DefaultCacheSize || s.Incomplete > ndp.DefaultCacheSize/4 || s.Pending > ndp.DefaultPendingTotal {
		t.Fatalf("cache not bounded: %+v", s)
	}
	if s.NAIgnored < 20000 || s.Learned == 0 || s.LearnRefused+s.Evictions == 0 {
		t.Fatalf("flood not counted: %+v", s)
	}
	if mac := v.send6(peerLL); mac != peerMAC {
		t.Fatalf("the peer in use was pushed out (traffic to %v)", mac)
	}
	if mac := v.send6(far6); mac != gwMAC {
		t.Fatalf("the router was pushed out (traffic to %v)", mac)
	}
	// Routers: at most DefaultMaxRouters from an RA flood.
	for i := range 100 {
		mac := inet.MAC{0x02, 0xf2, 0, 0, 0, byte(i)}
		v.inject(raFrame(mac, ll6(mac), 255, 1800, optLL(1, mac)))
	}
	if n := len(v.s.Routers6()); n != ndp.DefaultMaxRouters {
		t.Fatalf("%d routers", n)
	}
}

// TestNDDADRaces: another host answers for, or probes, an address we are
// still checking.
func TestNDDADRaces(t *testing.T) {
	static, _ := inet.ParsePrefix6("2001:db8:1::77/64")
	for _, c := range []struct {
		name string
		race func(v *victim, probe []byte)
		dup  bool
	}{
		{"NS for it from :: (another DAD)", func(v *victim, _ []byte) {
			v.inject(nsFrame(evilMAC, a6("::"), snode(static.Addr), static.Addr))
		}, true},
		{"NA claiming it", func(v *victim, _ []byte) {
			v.inject(naFrame(evilMAC, static.Addr, allNodes, static.Addr, 0x20, optLL(2, evilMAC)))
		}, true},
		{"our own probe looped back", func(v *victim, probe []byte) { v.inject(probe) }, false},
		{"NS for it from a unicast address", func(v *victim, _ []byte) {
			v.inject(nsFrame(evilMAC, evilLL, snode(static.Addr), static.Addr, optLL(1, evilMAC)))
		}, false},
		{"NA claiming it in fragments", func(v *victim, _ []byte) {
			m := icmp6m(static.Addr, allNodes, 136, 0, 0x20<<24, cat(addr16(nil, static.Addr), optLL(2, evilMAC)))
			for _, f := range fragFrames(evilMAC, static.Addr, allNodes, 255, 3, m, 16) {
				v.inject(f)
			}
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := newVictim(t, stack.Config{})
			v.up6()
			var reports []inet.Addr
			v.s.SetDuplicateHook6(func(a inet.Addr, _ inet.MAC, inUse bool) {
				if !inUse {
					reports = append(reports, a)
				}
			})
			if err := v.s.AddAddr6(static); err != nil {
				t.Fatal(err)
			}
			var probe []byte
			for _, o := range v.sent() {
				if o.icmp6Type() == 135 && o.ip6.src.IsUnspecified() {
					probe = o.raw
				}
			}
			if probe == nil {
				t.Fatal("no DAD probe")
			}
			c.race(v, probe)
			v.advance(5 * time.Second)
			st := ndp.AddrTentative
			for _, a := range v.s.Addrs6() {
				if a.Prefix.Addr == static.Addr {
					st = a.Status
				}
			}
			if c.dup && (st != ndp.AddrDuplicate || len(reports) != 1) || !c.dup && (st != ndp.AddrPreferred || len(reports) != 0) {
				t.Fatalf("status %v, reports %v (ND %+v)", st, reports, v.nd())
			}
			// The victim answers for the address only if it took it.
			v.inject(nsFrame(peerMAC, peerLL, snode(static.Addr), static.Addr, optLL(1, peerMAC)))
			answered := false
			for _, o := range v.sent() {
				answered = answered || o.icmp6Type() == 136
			}
			if answered == c.dup {
				t.Fatalf("answered %v for a %v address", answered, st)
			}
		})
	}
}

// TestNDLinkLocalDADRace: the victim's own link-local address is probed
// by another node while the victim checks it.
func TestNDLinkLocalDADRace(t *testing.T) {
	v := newVictim(t, stack.Config{})
	v.advance(time.Second) // the random delay: the probe is out
	v.inject(nsFrame(evilMAC, a6("::"), snode(victimLL), victimLL))
	v.advance(5 * time.Second)
	for _, a := range v.s.Addrs6() {
		if a.Prefix.Addr == victimLL && a.Status != ndp.AddrDuplicate {
			t.Fatalf("link-local %+v", a)
		}
	}
	// Router solicitations go on, from :: (RFC 4861 §4.1).
	if n := v.nd().RSSent; n == 0 {
		t.Fatal("no RS after the link-local address failed")
	}
}

// TestNDInFragments: RFC 6980 §5, for solicitations and advertisements.
func TestNDInFragments(t *testing.T) {
	v := newVictim(t, stack.Config{})
	v.up6()
	m := icmp6m(peerLL, snode(victimLL), 135, 0, 0, cat(addr16(nil, victimLL), optLL(1, peerMAC)))
	for _, f := range fragFrames(peerMAC, peerLL, snode(victimLL), 255, 1, m, 16) {
		v.inject(f)
	}
	for _, o := range v.sent() {
		if o.icmp6Type() == 136 {
			t.Fatal("answered a fragmented solicitation")
		}
	}
	if v.nd().DropFragmented != 1 {
		t.Fatalf("%+v", v.nd())
	}
}

// TestNDPrefixLifetimeAttack: RFC 4862 §5.5.3 (e): an advertisement
// cannot cut a SLAAC address's valid lifetime below two hours.
func TestNDPrefixLifetimeAttack(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ours := v.up6()
	for _, valid := range []uint32{0, 1, 60} {
		v.inject(raFrame(evilMAC, evilLL, 255, 0, optPrefix(prefix6, 64, true, true, valid, 0)))
	}
	if v.nd().ValidLifetimeKept != 3 {
		t.Fatalf("%+v", v.nd())
	}
	status := func() ndp.AddrStatus {
		for _, a := range v.s.Addrs6() {
			if a.Prefix.Addr == ours {
				return a.Status
			}
		}
		return 0
	}
	// Preferred lifetime 0 deprecates it (allowed), it stays usable.
	if st := status(); st != ndp.AddrDeprecated {
		t.Fatalf("after the attack: %v", st)
	}
	v.advance(2*time.Hour - time.Minute)
	if st := status(); st != ndp.AddrDeprecated {
		t.Fatalf("before two hours: %v", st)
	}
	v.advance(2 * time.Minute)
	if st := status(); st != 0 {
		t.Fatalf("after two hours: %v", st)
	}
}

// TestNDMTUOptionBelowMinimum: an MTU option under 1280 (RFC 8200 §5) is
// ignored and counted.
func TestNDMTUOptionBelowMinimum(t *testing.T) {
	v := newVictim(t, stack.Config{})
	v.up6()
	mtu := func() int {
		v.s.Locker().Lock()
		defer v.s.Locker().Unlock()
		return v.s.LayersLocked().IPv6.LinkMTU()
	}
	for _, m := range []uint32{0, 68, 576, 1279, 9000} {
		v.inject(raFrame(gwMAC, gwLL, 255, 1800, optMTU(m), optLL(1, gwMAC)))
	}
	if got := mtu(); got != 1500 || v.nd().MTUIgnored != 5 {
		t.Fatalf("link MTU %d, %+v", got, v.nd())
	}
	v.inject(raFrame(gwMAC, gwLL, 255, 1800, optMTU(1280), optLL(1, gwMAC)))
	if got := mtu(); got != 1280 {
		t.Fatalf("a valid MTU option: %d", got)
	}
}
