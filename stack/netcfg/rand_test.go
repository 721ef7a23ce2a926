package netcfg_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netcfg"
)

// countingRand counts reads; its bytes are a counter (tests only).
type countingRand struct{ n atomic.Int64 }

func (r *countingRand) Read(p []byte) (int, error) {
	v := r.n.Add(1)
	for i := range p {
		p[i] = byte(v) + byte(i)
	}
	return len(p), nil
}

type failDialer struct{}

var errNoDial = errors.New("no dialing in this test")

func (failDialer) DialUDP(context.Context, netip.AddrPort) (net.Conn, error) { return nil, errNoDial }
func (failDialer) DialTCP(context.Context, netip.AddrPort) (net.Conn, error) { return nil, errNoDial }

// TestStackRandReachesServices: with no Rand of their own, the DHCP
// client and the resolvers built on a stack draw from stack.Config.Rand,
// so that bare-metal programs (where there is no default source) only
// have to pass the board's entropy source to the stack.
func TestStackRandReachesServices(t *testing.T) {
	sw := memlink.NewSwitch(memlink.Config{})
	t.Cleanup(func() { sw.Close() })
	rnd := new(countingRand)
	s, err := stack.New(sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 0x30}, 1500), stack.Config{Rand: rnd})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if s.Rand() != rnd {
		t.Fatal("Stack.Rand is not Config.Rand")
	}

	// The resolver: every query ID comes from rnd.
	r := netcfg.NewResolver(s, netcfg.StaticServers(netip.MustParseAddrPort("192.0.2.53:53")))
	if r.Rand != rnd {
		t.Fatal("NewResolver did not take the stack's Rand")
	}
	r.Dialer, r.Attempts, r.Timeout = failDialer{}, 1, time.Second
	before := rnd.n.Load()
	if _, err := r.LookupA(context.Background(), "example.com"); !errors.Is(err, errNoDial) {
		t.Fatalf("LookupA: %v, want the dialer's error", err)
	}
	if rnd.n.Load() == before {
		t.Error("the query ID did not come from the stack's Rand")
	}

	// The DHCP client: its first DISCOVER's xid comes from rnd.
	before = rnd.n.Load()
	d, err := netcfg.StartDHCP(s, netcfg.DHCPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	if d.Resolver().Rand != rnd {
		t.Error("DHCP.Resolver did not take the stack's Rand")
	}
	for deadline := time.Now().Add(5 * time.Second); rnd.n.Load() == before; {
		if time.Now().After(deadline) {
			t.Fatal("the DHCP client never read the stack's Rand")
		}
		time.Sleep(time.Millisecond)
	}
}
