package ipv6

import (
	"testing"

	"github.com/mirago/mirago/stack/inet"
)

func TestAddressTable(t *testing.T) {
	e := newEnv(t, Config{})
	l := e.l
	a := inet.MustParseAddr("2001:db8:1::5")
	if err := l.AddAddrLocked(inet.Prefix6{Addr: a, Bits: 64}, StateTentative); err != nil {
		t.Fatal(err)
	}
	if info, ok := l.AddrLocked(a); !ok || info.State != StateTentative || info.Prefix.Bits != 64 || !l.IsLocal(a) || l.usable(a) {
		t.Errorf("tentative: %+v %v", info, ok)
	}
	must(t, l.SetAddrStateLocked(a, StatePreferred))
	if !l.usable(a) {
		t.Error("preferred address not usable")
	}
	must(t, l.AddAddrLocked(inet.Prefix6{Addr: a, Bits: 48}, StateDeprecated)) // update in place
	if got := l.AddrsLocked(nil); len(got) != 3 || got[2].Prefix.Bits != 48 || got[2].State != StateDeprecated {
		t.Errorf("addresses %+v", got)
	}
	must(t, l.RemoveAddrLocked(a))
	if l.IsLocal(a) || l.RemoveAddrLocked(a) != ErrNoSuchAddr || l.SetAddrStateLocked(a, StatePreferred) != ErrNoSuchAddr {
		t.Error("removed address still there")
	}
	for _, bad := range []string{"::", "::1", "ff02::1", "10.0.0.1"} {
		if err := l.AddAddrLocked(inet.Prefix6{Addr: inet.MustParseAddr(bad), Bits: 64}, StatePreferred); err != ErrAddr {
			t.Errorf("%s accepted: %v", bad, err)
		}
	}
	if l.AddAddrLocked(inet.Prefix6{Addr: a, Bits: 129}, StatePreferred) != ErrAddr || l.AddAddrLocked(inet.Prefix6{Addr: a, Bits: 64}, 0) != ErrAddr {
		t.Error("bad prefix length or state accepted")
	}
	for i := len(l.AddrsLocked(nil)); i < MaxAddrs; i++ {
		must(t, l.AddAddrLocked(inet.Prefix6{Addr: inet.AddrFrom16([16]byte{0x20, 1, 15: byte(i)}), Bits: 64}, StatePreferred))
	}
	if err := l.AddAddrLocked(inet.Prefix6{Addr: a, Bits: 64}, StatePreferred); err != ErrTooManyAddrs {
		t.Errorf("table over its bound: %v", err)
	}
}

func TestGroups(t *testing.T) {
	e := newEnv(t, Config{})
	l := e.l
	type ev struct {
		g      inet.Addr
		joined bool
	}
	var evs []ev
	g := inet.SolicitedNode(ourAddr)
	must(t, l.JoinGroupLocked(g))
	l.SetGroupHookLocked(func(g inet.Addr, joined bool) { evs = append(evs, ev{g, joined}) })
	// The hook starts from the groups already joined.
	if len(evs) != 2 || evs[0] != (ev{inet.IPv6AllNodes, true}) || evs[1] != (ev{g, true}) {
		t.Fatalf("replay %+v", evs)
	}
	evs = nil
	must(t, l.JoinGroupLocked(g)) // second reference: no event
	must(t, l.LeaveGroupLocked(g))
	if len(evs) != 0 || !l.IsJoined(g) {
		t.Errorf("refcount: %+v", evs)
	}
	must(t, l.LeaveGroupLocked(g))
	if len(evs) != 1 || evs[0] != (ev{g, false}) || l.IsJoined(g) {
		t.Errorf("last leave %+v", evs)
	}
	if l.LeaveGroupLocked(g) != ErrNotJoined || l.LeaveGroupLocked(inet.IPv6AllNodes) != ErrNotJoined {
		t.Error("left a group not joined, or all-nodes")
	}
	if l.JoinGroupLocked(ourAddr) != ErrGroup || l.JoinGroupLocked(inet.MustParseAddr("224.0.0.1")) != ErrGroup {
		t.Error("joined a unicast or IPv4 group")
	}
	if got := l.GroupsLocked(nil); len(got) != 1 || got[0] != inet.IPv6AllNodes {
		t.Errorf("groups %v", got)
	}
	for i := 1; i < MaxGroups; i++ {
		must(t, l.JoinGroupLocked(inet.AddrFrom16([16]byte{0xff, 0x05, 15: byte(i)})))
	}
	if err := l.JoinGroupLocked(g); err != ErrTooManyGroups {
		t.Errorf("group table over its bound: %v", err)
	}
}

func TestSourceSelection(t *testing.T) {
	e := newEnv(t, Config{})
	l := e.l
	ula := inet.MustParseAddr("fd00::15")
	dep := inet.MustParseAddr("2001:db8:2::15")
	must(t, l.AddAddrLocked(inet.Prefix6{Addr: ula, Bits: 64}, StatePreferred))
	must(t, l.AddAddrLocked(inet.Prefix6{Addr: dep, Bits: 64}, StateDeprecated))
	for _, c := range []struct{ dst, want string }{
		{"fe80::1", "fe80::5054:ff:fe12:3456"}, // rule 2: link-local scope
		{"ff02::1", "fe80::5054:ff:fe12:3456"}, // rule 2: multicast scope link
		{"ff0e::1", "2001:db8::15"},            // global multicast: global source
		{"2001:db8::15", "2001:db8::15"},       // rule 1
		{"2001:db8:2::15", "2001:db8:2::15"},   // rule 1 beats deprecation
		{"2001:db8:2::1", "2001:db8::15"},      // rule 3: avoid deprecated
		{"fd00::1", "fd00::15"},                // rule 6: matching label
		{"fd12::1", "fd00::15"},                // rule 6
		{"2001:db8:ffff::1", "2001:db8::15"},   // rule 8
		{"2a00::1", "2001:db8::15"},            // global
	} {
		got, err := l.Source(inet.MustParseAddr(c.dst))
		if err != nil || got != inet.MustParseAddr(c.want) {
			t.Errorf("Source(%s) = %v, %v; want %s", c.dst, got, err, c.want)
		}
	}
	// Only the global address left, tentative: nothing usable.
	e = newEnv(t, Config{})
	must(t, e.l.SetAddrStateLocked(ourLL, StateTentative))
	must(t, e.l.SetAddrStateLocked(ourAddr, StateTentative))
	if _, err := e.l.Source(peerLL); err != ErrNoAddress {
		t.Errorf("tentative addresses chosen: %v", err)
	}
	if _, err := e.l.Source(inet.MustParseAddr("10.0.0.1")); err == nil {
		t.Error("IPv4 destination")
	}
}
