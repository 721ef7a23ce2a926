package ethernet

import (
	"errors"
	"slices"
	"testing"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// filterDev is a fakeDev with a hardware multicast filter.
type filterDev struct {
	fakeDev
	sets [][]inet.MAC
	err  error
}

func (d *filterDev) SetMulticast(g []inet.MAC) error {
	d.sets = append(d.sets, slices.Clone(g))
	return d.err
}

func TestGroupsAcceptExactlyWhatIsJoined(t *testing.T) {
	sn := inet.MAC{0x33, 0x33, 0xff, 0x12, 0x34, 0x56}
	other := inet.MAC{0x33, 0x33, 0xff, 0x12, 0x34, 0x57}
	l, _, g := newTestLayer()
	in := func(dst inet.MAC) { l.Input(frame(dst, macHost, inet.EtherTypeARP, 1), netif.RxMeta{}) }
	in(sn)
	if g.n != 0 {
		t.Fatal("accepted a group before joining it")
	}
	l.JoinGroup(sn)
	l.JoinGroup(sn) // a second IPv6 group with the same low 32 bits
	in(sn)
	in(other)
	if g.n != 1 || l.StatsLocked().RxNotForUs != 2 {
		t.Fatalf("delivered %d, stats %+v", g.n, l.StatsLocked())
	}
	l.LeaveGroup(sn)
	in(sn)
	if g.n != 2 {
		t.Fatal("one reference left, but the group was dropped")
	}
	l.LeaveGroup(sn)
	in(sn)
	if g.n != 2 || len(l.Groups(nil)) != 0 {
		t.Fatalf("group still accepted after the last leave: %v", l.Groups(nil))
	}
	if err := l.LeaveGroup(sn); err != ErrNotJoined {
		t.Fatalf("leave of a group not joined: %v", err)
	}
	for _, m := range []inet.MAC{macHost, inet.BroadcastMAC} {
		if err := l.JoinGroup(m); err != ErrNotGroup {
			t.Fatalf("join %v: %v", m, err)
		}
	}
}

func TestGroupsBounded(t *testing.T) {
	l, _, _ := newTestLayer()
	for i := range MaxGroups {
		if err := l.JoinGroup(inet.MAC{0x33, 0x33, 0, 0, 0, byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.JoinGroup(inet.MAC{0x33, 0x33, 1, 0, 0, 0}); err != ErrTooManyGroups {
		t.Fatalf("join past the bound: %v", err)
	}
}

func TestGroupsProgramTheDevice(t *testing.T) {
	a := inet.MAC{0x33, 0x33, 0, 0, 0, 1}
	b := inet.MAC{0x33, 0x33, 0xff, 0, 0, 2}
	d := &filterDev{fakeDev: fakeDev{mac: macGuest}}
	l := New(d)
	l.JoinGroup(a)
	l.JoinGroup(b)
	l.JoinGroup(b) // no change: not programmed again
	l.LeaveGroup(a)
	want := [][]inet.MAC{{a}, {a, b}, {b}}
	if !slices.EqualFunc(d.sets, want, slices.Equal) {
		t.Fatalf("device filter programmed with %v, want %v", d.sets, want)
	}
	d.err = errors.New("no")
	if err := l.JoinGroup(a); err == nil || l.StatsLocked().FilterErrors != 1 {
		t.Fatalf("device error: %v, %+v", err, l.StatsLocked())
	}
	l.Register(inet.EtherTypeARP, func(src, dst inet.MAC, p []byte, _ netif.RxMeta) {})
	l.Input(frame(a, macHost, inet.EtherTypeARP, 1), netif.RxMeta{})
	if l.StatsLocked().RxDelivered != 1 {
		t.Fatal("a group the device refused is not accepted in software")
	}
}
