package netcfg_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/dhcp"
	"github.com/mirago/mirago/stack/dns"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/netcfg"
)

var (
	serverAddr = inet.MustParseAddr4("10.0.0.1")
	clientMAC  = inet.MAC{2, 0, 0, 0, 0, 0x10}
)

// seen is one message the fake DHCP server received.
type seen struct {
	typ      dhcp.MessageType
	src      netip.AddrPort
	ciaddr   inet.Addr4
	req      inet.Addr4 // option 50
	serverID inet.Addr4
}

// fakeServer is a DHCP server (and a one-name DNS server) on its own stack,
// 10.0.0.1/24, sharing an in-memory switch with the client's stack. It
// hands out 10.0.0.100, then .101 after a decline, with a 60 s lease and
// interface MTU 1400 (mtu).
type fakeServer struct {
	t      *testing.T
	s      *stack.Stack
	silent atomic.Bool  // ignore requests (to let a lease expire)
	mtu    atomic.Int32 // option 26 in ACKs and OFFERs; 0: none
	got    chan seen

	mu   sync.Mutex
	next inet.Addr4
}

func newFakeServer(t *testing.T, sw *memlink.Switch) *fakeServer {
	t.Helper()
	s, err := stack.New(sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 1}, 1500), stack.Config{
		Addr: inet.Prefix4{Addr: serverAddr, Bits: 24},
		IPv4: ipv4.Config{AcceptUnspecifiedSource: true}, // clients send from 0.0.0.0
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &fakeServer{t: t, s: s, got: make(chan seen, 64), next: inet.MustParseAddr4("10.0.0.100")}
	f.mtu.Store(1400)
	c, err := s.UDP().Bind(netip.MustParseAddrPort("0.0.0.0:67"))
	if err != nil {
		t.Fatal(err)
	}
	c.SetBroadcast(true)
	t.Cleanup(func() { c.Close() })
	go f.serveDHCP(c)
	d, err := s.UDP().Bind(netip.MustParseAddrPort("0.0.0.0:53"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	go serveDNS(d, "name.test", serverAddr)
	return f
}

func (f *fakeServer) serveDHCP(c interface {
	ReadFromAddrPort([]byte) (int, netip.AddrPort, error)
	WriteToAddrPort([]byte, netip.AddrPort) (int, error)
}) {
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFromAddrPort(buf)
		if err != nil {
			return
		}
		m, err := dhcp.ParseMessage(buf[:n])
		if err != nil || m.Op != dhcp.OpRequest {
			continue
		}
		sn := seen{typ: m.Type(), src: from, ciaddr: m.CIAddr}
		sn.req, _ = m.Options.Addr(dhcp.OptRequestedIP)
		sn.serverID, _ = m.Options.Addr(dhcp.OptServerID)
		f.got <- sn
		if f.silent.Load() {
			continue
		}
		f.mu.Lock()
		offer := f.next
		if sn.typ == dhcp.Decline {
			f.next[3]++
		}
		f.mu.Unlock()
		var reply dhcp.MessageType
		switch sn.typ {
		case dhcp.Discover:
			reply = dhcp.Offer
		case dhcp.Request:
			reply = dhcp.Ack
		default:
			continue
		}
		r := &dhcp.Message{Op: dhcp.OpReply, HType: 1, HLen: 6, XID: m.XID, Flags: m.Flags, CHAddr: m.CHAddr, YIAddr: offer}
		r.Options.Add(dhcp.OptMessageType, []byte{byte(reply)})
		r.Options.Add(dhcp.OptServerID, serverAddr[:])
		r.Options.Add(dhcp.OptLeaseTime, []byte{0, 0, 0, 60})
		r.Options.Add(dhcp.OptSubnetMask, []byte{255, 255, 255, 0})
		r.Options.Add(dhcp.OptRouter, serverAddr[:])
		r.Options.Add(dhcp.OptDNS, serverAddr[:])
		r.Options.Add(dhcp.OptNTP, serverAddr[:])
		if mtu := f.mtu.Load(); mtu != 0 {
			r.Options.Add(dhcp.OptInterfaceMTU, []byte{byte(mtu >> 8), byte(mtu)})
		}
		to := netip.AddrPortFrom(netip.AddrFrom4(inet.IPv4Broadcast), 68)
		if !m.CIAddr.IsUnspecified() {
			to = netip.AddrPortFrom(m.CIAddr.Netip(), 68)
		}
		b := make([]byte, r.Len())
		r.Encode(b)
		c.WriteToAddrPort(b, to)
	}
}

// serveDNS answers A queries for name with addr, and NXDOMAIN otherwise.
func serveDNS(c interface {
	ReadFromAddrPort([]byte) (int, netip.AddrPort, error)
	WriteToAddrPort([]byte, netip.AddrPort) (int, error)
}, name string, addr inet.Addr4) {
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFromAddrPort(buf)
		if err != nil {
			return
		}
		q, err := dns.ParseMessage(buf[:n])
		if err != nil || q.Response || len(q.Questions) != 1 {
			continue
		}
		qend := 12 + len(encodeName(q.Questions[0].Name)) + 4
		if qend > n {
			continue
		}
		resp := append([]byte(nil), buf[:qend]...)
		resp[2] |= 0x80                          // QR
		resp[3] = 0x80                           // RA, NOERROR
		binary.BigEndian.PutUint16(resp[8:], 0)  // NSCOUNT
		binary.BigEndian.PutUint16(resp[10:], 0) // ARCOUNT
		if q.Questions[0].Name == name || q.Questions[0].Name == name+"." {
			binary.BigEndian.PutUint16(resp[6:], 1) // ANCOUNT
			resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
			resp = append(resp, addr[:]...)
		} else {
			binary.BigEndian.PutUint16(resp[6:], 0)
			resp[3] |= 3 // NXDOMAIN
		}
		c.WriteToAddrPort(resp, from)
	}
}

func encodeName(name string) []byte {
	var b []byte
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			if i > start {
				b = append(b, byte(i-start))
				b = append(b, name[start:i]...)
			}
			start = i + 1
		}
	}
	return append(b, 0)
}

// expect waits for the server to see a message of type typ, skipping
// others, and returns it. While waiting it calls advance (if set) every
// millisecond, for up to 10 s of real time.
func (f *fakeServer) expect(typ dhcp.MessageType, advance func()) seen {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case sn := <-f.got:
			if sn.typ == typ {
				return sn
			}
		case <-time.After(time.Millisecond):
			if advance != nil {
				advance()
			}
		}
	}
	f.t.Fatalf("the server saw no message of type %d", typ)
	return seen{}
}

// drain forgets the messages seen so far.
func (f *fakeServer) drain() {
	for len(f.got) > 0 {
		<-f.got
	}
}

// until polls cond, advancing the client's virtual clock, for up to 10 s
// of real time.
func until(t *testing.T, what string, step func(), cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		if step != nil {
			step()
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLeaseLifecycle runs StartDHCP against a scripted server over an
// in-memory switch, with the client's timers in virtual time: the lease is
// applied (address, router, DNS, MTU 1400) and usable (ping, DNS through our
// stack), removed when it expires unrenewed, reacquired, declined when
// another host claims the address (the DECLINE leaves from 0.0.0.0 and
// the address is dropped at once), and released on Stop.
func TestLeaseLifecycle(t *testing.T) {
	sw := memlink.NewSwitch(memlink.Config{})
	t.Cleanup(func() { sw.Close() })
	srv := newFakeServer(t, sw)
	s, err := stack.New(sw.NewPort(clientMAC, 1500), stack.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	clk := clock.NewVirtual(time.Unix(1_000_000, 0))
	tick := func() { clk.Advance(time.Second) }
	var expired atomic.Int32
	d, err := netcfg.StartDHCP(s, netcfg.DHCPConfig{Clock: clk, OnExpire: func() { expired.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	if _, err := netcfg.StartDHCP(s, netcfg.DHCPConfig{Clock: clk}); err == nil {
		t.Fatal("a second client on the same stack bound port 68")
	}

	// DISCOVER and REQUEST come from 0.0.0.0:68.
	if sn := srv.expect(dhcp.Discover, nil); sn.src != netip.MustParseAddrPort("0.0.0.0:68") {
		t.Fatalf("DISCOVER from %v, want 0.0.0.0:68", sn.src)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := d.WaitBound(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := inet.Prefix4{Addr: inet.MustParseAddr4("10.0.0.100"), Bits: 24}
	if l.Addr != want || l.Router != serverAddr || s.Addr() != want || d.MTU() != 1400 || s.MTU() != 1400 {
		t.Fatalf("lease %v router %v mtu %d, stack %v mtu %d", l.Addr, l.Router, d.MTU(), s.Addr(), s.MTU())
	}
	s.Locker().Lock()
	gw := s.LayersLocked().IP.Gateway()
	s.Locker().Unlock()
	if gw != serverAddr {
		t.Fatalf("gateway %v", gw)
	}
	if _, err := srv.s.Ping(ctx, inet.AddrFrom4(want.Addr), []byte("leased")); err != nil {
		t.Fatalf("server cannot ping the leased address: %v", err)
	}
	r := d.Resolver()
	if got, err := r.Resolve(ctx, "name.test:443"); err != nil || got != netip.MustParseAddrPort("10.0.0.1:443") {
		t.Fatalf("Resolve: %v, %v", got, err)
	}
	if _, err := r.LookupA(ctx, "other.test"); !errors.Is(err, dns.ErrNXDomain) {
		t.Fatalf("other.test: %v, want NXDOMAIN", err)
	}

	// Renewal at T1 (30 s) is unicast from the leased address.
	srv.drain()
	sn := srv.expect(dhcp.Request, tick)
	if sn.src != netip.MustParseAddrPort("10.0.0.100:68") || sn.ciaddr != want.Addr {
		t.Fatalf("renewal REQUEST from %v ciaddr %v", sn.src, sn.ciaddr)
	}

	// Unanswered, the lease expires and the address goes away.
	srv.silent.Store(true)
	until(t, "the lease to expire", tick, func() bool { return expired.Load() == 1 })
	if a, mtu := s.Addr(), s.MTU(); a != (inet.Prefix4{}) || mtu != 1500 {
		t.Fatalf("address after expiry: %v, MTU %d", a, mtu)
	}
	if _, ok := d.Lease(); ok || len(d.DNSServers()) != 0 {
		t.Fatal("lease still held after expiry")
	}
	if _, err := r.Resolve(ctx, "name.test:443"); !errors.Is(err, dns.ErrNoServers) {
		t.Fatalf("Resolve without a lease: %v, want ErrNoServers", err)
	}

	// The server answers again: the client rediscovers.
	srv.silent.Store(false)
	until(t, "a new lease", tick, func() bool { _, ok := d.Lease(); return ok })
	if s.Addr() != want || s.MTU() != 1400 {
		t.Fatalf("address after rebinding: %v, MTU %d", s.Addr(), s.MTU())
	}

	// Another host claims the address: the lease is declined.
	other, err := stack.New(sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 0x20}, 1500), stack.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	srv.drain()
	other.SetAddr(want) // gratuitous ARP
	sn = srv.expect(dhcp.Decline, nil)
	if sn.src.Addr() != netip.IPv4Unspecified() || sn.req != want.Addr || sn.serverID != serverAddr {
		t.Fatalf("DECLINE from %v for %v (server %v)", sn.src, sn.req, sn.serverID)
	}
	until(t, "the declined address to go", nil, func() bool { return expired.Load() == 2 })
	if a, mtu := s.Addr(), s.MTU(); a != (inet.Prefix4{}) || mtu != 1500 {
		t.Fatalf("address after decline: %v, MTU %d", a, mtu)
	}

	// After 10 s the client discovers again and gets .101.
	until(t, "a lease after the decline", tick, func() bool { _, ok := d.Lease(); return ok })
	want2 := inet.Prefix4{Addr: inet.MustParseAddr4("10.0.0.101"), Bits: 24}
	if s.Addr() != want2 {
		t.Fatalf("address after decline and rediscovery: %v, want %v", s.Addr(), want2)
	}

	// Stop releases from the leased address and removes it.
	srv.drain()
	d.Stop()
	sn = srv.expect(dhcp.Release, nil)
	if sn.src != netip.MustParseAddrPort("10.0.0.101:68") || sn.ciaddr != want2.Addr || sn.serverID != serverAddr {
		t.Fatalf("RELEASE from %v ciaddr %v server %v", sn.src, sn.ciaddr, sn.serverID)
	}
	if a, mtu := s.Addr(), s.MTU(); a != (inet.Prefix4{}) || mtu != 1500 {
		t.Fatalf("address after Stop: %v, MTU %d", a, mtu)
	}
	if _, err := d.WaitBound(ctx); !errors.Is(err, netcfg.ErrStopped) {
		t.Fatalf("WaitBound after Stop: %v", err)
	}
	// Port 68 is free again.
	d2, err := netcfg.StartDHCP(s, netcfg.DHCPConfig{Clock: clk})
	if err != nil {
		t.Fatalf("restart after Stop: %v", err)
	}
	d2.Stop()
}

// WaitBound honours its context.
func TestWaitBoundContext(t *testing.T) {
	sw := memlink.NewSwitch(memlink.Config{})
	t.Cleanup(func() { sw.Close() })
	s, err := stack.New(sw.NewPort(clientMAC, 1500), stack.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d, err := netcfg.StartDHCP(s, netcfg.DHCPConfig{Clock: clock.NewVirtual(time.Unix(0, 0))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := d.WaitBound(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitBound with no server: %v", err)
	}
}

// The Dialer refuses to dial before the stack has an address, and the
// static resolver works with IP literals without any server.
func TestDialerAndStaticResolver(t *testing.T) {
	sw := memlink.NewSwitch(memlink.Config{})
	t.Cleanup(func() { sw.Close() })
	newFakeServer(t, sw)
	s, err := stack.New(sw.NewPort(clientMAC, 1500), stack.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if _, err := (netcfg.Dialer{Stack: s}).DialUDP(ctx, netip.MustParseAddrPort("10.0.0.1:53")); err == nil {
		t.Fatal("DialUDP without an address succeeded")
	}
	r := netcfg.NewResolver(s, netcfg.StaticServers(netip.MustParseAddrPort("10.0.0.1:53")))
	if ap, err := r.Resolve(ctx, "192.0.2.7:80"); err != nil || ap != netip.MustParseAddrPort("192.0.2.7:80") {
		t.Fatalf("literal: %v, %v", ap, err)
	}
	s.SetAddr(inet.Prefix4{Addr: inet.MustParseAddr4("10.0.0.9"), Bits: 24})
	ap, err := r.Resolve(ctx, "name.test:80")
	if err != nil || ap != netip.MustParseAddrPort("10.0.0.1:80") {
		t.Fatalf("name.test: %v, %v", ap, err)
	}
	if got := r.CurrentServers(); len(got) != 1 || got[0] != netip.MustParseAddrPort("10.0.0.1:53") {
		t.Fatalf("CurrentServers %v", got)
	}
}
