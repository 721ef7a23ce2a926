package netcfg_test

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/impair"
	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netcfg"
	"github.com/mirago/mirago/stack/sntp"
	"github.com/mirago/mirago/stack/udp"
)

// ntpServer is a tiny SNTP server of our own on a stack: its clock is the
// host's plus offset, and it ignores the first ignore requests.
type ntpServer struct {
	offset time.Duration
	ignore atomic.Int32
	served atomic.Int32
}

func (n *ntpServer) serve(c *udp.Conn) {
	buf := make([]byte, 1500)
	for {
		k, from, err := c.ReadFromAddrPort(buf)
		if err != nil {
			return
		}
		req, err := sntp.ParsePacket(buf[:k])
		if err != nil || req.Mode() != sntp.ModeClient {
			continue
		}
		if n.ignore.Add(-1) >= 0 {
			continue
		}
		now := time.Now().Add(n.offset)
		f := sntp.Fields{Version: req.Version(), Mode: sntp.ModeServer, Stratum: 3, Precision: -20,
			RefID: [4]byte{10, 0, 0, 99}, Reference: sntp.TimestampOf(now.Add(-time.Minute)),
			Origin: req.Transmit(), Receive: sntp.TimestampOf(now), Transmit: sntp.TimestampOf(time.Now().Add(n.offset))}
		out := make([]byte, sntp.HeaderLen)
		f.Encode(out)
		c.WriteToAddrPort(out, from)
		n.served.Add(1)
	}
}

func (n *ntpServer) start(t *testing.T, s *stack.Stack) {
	c, err := s.UDP().Bind(netip.MustParseAddrPort("0.0.0.0:123"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go n.serve(c)
}

// A lease's option 42 names the NTP server; the client on our stack
// (over a link that duplicates every frame) asks it through our UDP and
// steps its clock to the server's, an hour ahead of the host's; the
// duplicate reply is dropped and counted.
func TestNTPFromLease(t *testing.T) {
	sw := memlink.NewSwitch(memlink.Config{})
	t.Cleanup(func() { sw.Close() })
	srv := newFakeServer(t, sw)
	ntp := &ntpServer{offset: time.Hour}
	ntp.start(t, srv.s)
	dup, _ := impair.ParseSpec("dup=1,seed=3")
	s, err := stack.New(impair.Wrap(sw.NewPort(clientMAC, 1500), dup, clock.Real{}), stack.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d, err := netcfg.StartDHCP(s, netcfg.DHCPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.WaitBound(ctx); err != nil {
		t.Fatal(err)
	}
	if got := d.NTPServers(); len(got) != 1 || got[0] != netip.MustParseAddrPort("10.0.0.1:123") {
		t.Fatalf("lease NTP servers %v", got)
	}
	hp, lease, err := sntp.ParseServers("dhcp")
	if err != nil || !lease {
		t.Fatal(err)
	}
	clk := sntp.NewClock(s.Timers().Clock())
	c, err := sntp.StartUDP(s.UDP(), sntp.Config{
		Servers: sntp.Servers(hp, d.Resolver().Resolve, d.NTPServers),
		Clock:   s.Timers().Clock(), Rand: s.Rand(), Target: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	st, err := c.WaitSynced(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e := clk.Now().Sub(time.Now().Add(time.Hour)); e.Abs() > 50*time.Millisecond {
		t.Fatalf("clock off by %v after the sync (status %+v)", e, st)
	}
	if st.Server != netip.MustParseAddrPort("10.0.0.1:123") || st.Stratum != 3 {
		t.Fatalf("status %+v", st)
	}
	// The duplicate of the reply comes after the exchange ended.
	until(t, "the duplicate reply", nil, func() bool { return c.Stats().Rejected[sntp.RejectSource] >= 1 })
	if s := c.Stats(); s.Replies != 1 || s.Steps != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// Two servers on their own stacks, one by name and one by address: the
// first (the name, resolved through our resolver) ignores us, and the
// client fails over to the second within the same poll.
func TestNTPFailoverByName(t *testing.T) {
	sw := memlink.NewSwitch(memlink.Config{})
	t.Cleanup(func() { sw.Close() })
	srv := newFakeServer(t, sw) // 10.0.0.1: DNS (name.test is 10.0.0.1) and a silent NTP server
	silent := &ntpServer{}
	silent.ignore.Store(1 << 30)
	silent.start(t, srv.s)
	other, err := stack.New(sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 2}, 1500), stack.Config{Addr: inet.Prefix4{Addr: inet.MustParseAddr4("10.0.0.2"), Bits: 24}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	good := &ntpServer{offset: -90 * time.Minute}
	good.start(t, other)
	s, err := stack.New(sw.NewPort(clientMAC, 1500), stack.Config{Addr: inet.Prefix4{Addr: inet.MustParseAddr4("10.0.0.9"), Bits: 24}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	hp, _, err := sntp.ParseServers("name.test,10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	r := netcfg.NewResolver(s, netcfg.StaticServers(netip.MustParseAddrPort("10.0.0.1:53")))
	c, err := sntp.StartUDP(s.UDP(), sntp.Config{
		Servers: sntp.Servers(hp, r.Resolve, nil), Timeout: 300 * time.Millisecond,
		Clock: s.Timers().Clock(), Rand: s.Rand(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.WaitSynced(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clk := c.Target().(*sntp.Clock)
	if e := clk.Now().Sub(time.Now().Add(-90 * time.Minute)); e.Abs() > 50*time.Millisecond || st.Server != netip.MustParseAddrPort("10.0.0.2:123") {
		t.Fatalf("clock off by %v, status %+v", e, st)
	}
	if s := c.Stats(); s.Timeouts != 1 || s.Requests != 2 || silent.served.Load() != 0 {
		t.Fatalf("stats %+v", s)
	}
}
