package stack_test

import (
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// SetARPConflictHook reports another host announcing our address, after
// Config.ARP.OnConflict; nil removes it.
func TestARPConflictHook(t *testing.T) {
	a, b := pair(t, "")
	type claim struct {
		addr inet.Addr4
		mac  inet.MAC
	}
	got := make(chan claim, 4)
	a.SetARPConflictHook(func(addr inet.Addr4, mac inet.MAC) {
		select {
		case got <- claim{addr, mac}:
		default:
		}
	})
	// B takes A's address and announces it with a gratuitous ARP.
	b.SetAddr(a.Addr())
	select {
	case c := <-got:
		if c.addr != a.Addr().Addr || c.mac != b.Device().MAC() {
			t.Fatalf("conflict %v from %v, want %v from %v", c.addr, c.mac, a.Addr().Addr, b.Device().MAC())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no conflict reported for a gratuitous ARP claiming our address")
	}
	a.SetARPConflictHook(nil)
	for len(got) > 0 { // the second announcement, 2 s later, may be in
		<-got
	}
	before := a.Stats().ARP.Conflicts
	b.SetAddr(inet.Prefix4{})
	b.SetAddr(a.Addr()) // announce again
	deadline := time.Now().Add(10 * time.Second)
	for a.Stats().ARP.Conflicts == before {
		if time.Now().After(deadline) {
			t.Fatal("second claim not counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(got) != 0 {
		t.Fatal("hook called after SetARPConflictHook(nil)")
	}
}
