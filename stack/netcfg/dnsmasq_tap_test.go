//go:build linux

package netcfg_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/dnsmasqtest"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/dhcp"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netcfg"
)

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestDnsmasqLeaseRenewReleaseAndDNS runs our stack unaddressed on a TAP
// with dnsmasq on the kernel side. It checks the whole life of a lease:
// DISCOVER from 0.0.0.0 to 255.255.255.255 through our UDP and IPv4 layers,
// the lease applied (address in the pool, router, DNS, interface MTU 1400
// from option 26), the kernel pinging
// the leased address, a unicast renewal at T1 (4 s, from the leased
// address), names resolved through our UDP (and TCP for a truncated
// answer), and DHCPRELEASE on Stop, which gives back the device MTU.
func TestDnsmasqLeaseRenewReleaseAndDNS(t *testing.T) {
	taptest.Require(t, "ping")
	dnsmasqtest.Require(t)
	tp := taptest.New(t)
	srv := dnsmasqtest.Start(t, tp, 4*time.Second, "--dhcp-option=26,1400")

	s, err := stack.New(tp.Dev, stack.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var bounds atomic.Int32
	d, err := netcfg.StartDHCP(s, netcfg.DHCPConfig{
		Log:     testLog(t),
		OnBound: func(dhcp.Lease) { bounds.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := d.WaitBound(ctx)
	if err != nil {
		t.Fatalf("no lease: %v\ndnsmasq:\n%s", err, srv.Log())
	}

	// The lease: an address from the pool on the /24, router and DNS.
	kernel, _ := inet.Addr4From(tp.Kernel)
	pool := fmt.Sprintf("10.199.%d.", tp.N)
	a := l.Addr.Addr
	if !strings.HasPrefix(a.String(), pool) || a[3] < 50 || a[3] > 150 || l.Addr.Bits != 24 {
		t.Fatalf("leased %v, want an address in %s50-150/24", l.Addr, pool)
	}
	if l.Router != kernel || len(l.DNS) != 1 || l.DNS[0] != kernel || l.Server != kernel {
		t.Fatalf("lease router %v dns %v server %v, want %v for all", l.Router, l.DNS, l.Server, kernel)
	}
	if l.LeaseTime != 2*time.Minute || l.T1 != 4*time.Second {
		t.Fatalf("lease time %v T1 %v, want 2m0s and 4s", l.LeaseTime, l.T1)
	}
	if got := s.Addr(); got != l.Addr {
		t.Fatalf("stack address %v, want the lease's %v", got, l.Addr)
	}
	if l.MTU != 1400 || s.MTU() != 1400 || tp.Dev.MTU() != 1500 {
		t.Fatalf("lease MTU %d, stack MTU %d (device %d); want 1400, 1400 (1500)", l.MTU, s.MTU(), tp.Dev.MTU())
	}
	s.Locker().Lock()
	gw := s.LayersLocked().IP.Gateway()
	s.Locker().Unlock()
	if gw != kernel {
		t.Fatalf("gateway %v, want %v", gw, kernel)
	}
	if want := []netip.AddrPort{netip.AddrPortFrom(tp.Kernel, 53)}; fmt.Sprint(d.DNSServers()) != fmt.Sprint(want) {
		t.Fatalf("DNS servers %v, want %v", d.DNSServers(), want)
	}
	mac := s.Device().MAC().String()
	srv.WaitFor(t, 5*time.Second, "the lease in dnsmasq's lease file", func() bool {
		return strings.Contains(srv.Leases(), mac+" "+a.String())
	})

	// The kernel reaches us at the leased address.
	out, err := exec.Command("ping", "-c", "2", "-i", "0.2", "-W", "2", a.String()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "2 received") {
		t.Fatalf("kernel ping of the leased address: %v\n%s", err, out)
	}

	// Names resolve through our stack: the query's source is our leased
	// address (the kernel's own would be 10.199.N.1).
	r := d.Resolver()
	r.CacheSize = -1
	udpBefore := s.Stats().UDP.OutDatagrams
	addrs, err := r.LookupA(ctx, dnsmasqtest.UpstreamName)
	if err != nil || len(addrs) != 1 || addrs[0] != tp.Kernel {
		t.Fatalf("%s = %v, %v; want %v", dnsmasqtest.UpstreamName, addrs, err, tp.Kernel)
	}
	if s.Stats().UDP.OutDatagrams == udpBefore {
		t.Fatal("the query did not go out through our UDP layer")
	}
	srv.WaitLog(t, 5*time.Second, "query[A] "+dnsmasqtest.UpstreamName+" from "+a.String())
	ap, err := r.Resolve(ctx, dnsmasqtest.UpstreamName+":8080")
	if err != nil || ap != netip.AddrPortFrom(tp.Kernel, 8080) {
		t.Fatalf("Resolve: %v, %v", ap, err)
	}
	if _, err := r.LookupA(ctx, "nonexistent.invalid"); err == nil {
		t.Fatal("a name dnsmasq does not know resolved")
	}

	// A 40-address answer is truncated over UDP: the resolver retries
	// over our TCP.
	tcpBefore := s.Stats().TCP.ActiveOpens
	big, err := r.LookupA(ctx, dnsmasqtest.BigName)
	if err != nil || len(big) != dnsmasqtest.BigCount {
		t.Fatalf("%s: %d addresses, %v; want %d", dnsmasqtest.BigName, len(big), err, dnsmasqtest.BigCount)
	}
	if s.Stats().TCP.ActiveOpens == tcpBefore {
		t.Fatal("no TCP connection for the truncated answer")
	}

	// Renewal at T1: a unicast REQUEST from the leased address, ACKed.
	srv.WaitFor(t, 15*time.Second, "a renewal", func() bool { return bounds.Load() >= 2 })
	if l2, ok := d.Lease(); !ok || l2.Addr != l.Addr || !l2.Start.After(l.Start) {
		t.Fatalf("after renewal: lease %+v (held %v), want %v renewed", l2, ok, l.Addr)
	}
	if st := d.Client().State(); st != dhcp.StateBound && st != dhcp.StateRenewing {
		t.Fatalf("state after renewal %v", st)
	}
	srv.WaitLog(t, 5*time.Second, "DHCPREQUEST("+tp.Name+") "+a.String()+" "+mac)
	if n := srv.Count("DHCPACK(" + tp.Name + ") " + a.String() + " " + mac); n < 2 {
		t.Fatalf("dnsmasq logged %d ACKs for our address, want >= 2 (bind + renew)", n)
	}
	if got := s.Addr(); got != l.Addr {
		t.Fatalf("address after renewal %v, want %v", got, l.Addr)
	}

	// Stop releases the lease and unconfigures the stack.
	d.Stop()
	srv.WaitLog(t, 5*time.Second, "DHCPRELEASE("+tp.Name+") "+a.String()+" "+mac)
	srv.WaitFor(t, 5*time.Second, "the lease to leave dnsmasq's lease file", func() bool {
		return !strings.Contains(srv.Leases(), mac)
	})
	if got := s.Addr(); got != (inet.Prefix4{}) {
		t.Fatalf("address after Stop %v, want none", got)
	}
	if got := s.MTU(); got != 1500 {
		t.Fatalf("MTU after Stop %d, want the device's 1500", got)
	}
	if _, err := d.WaitBound(ctx); err != netcfg.ErrStopped {
		t.Fatalf("WaitBound after Stop: %v, want ErrStopped", err)
	}
}

// TestDnsmasqAAAAOverIPv6: our resolver asks dnsmasq on the kernel's
// IPv6 address for AAAA and A records; Resolve, with both families
// reachable, takes the IPv6 address, and over TCP (a truncated answer)
// IPv6 works too.
func TestDnsmasqAAAAOverIPv6(t *testing.T) {
	dnsmasqtest.Require(t)
	tp := taptest.NewWith(t, taptest.Options{IPv6: true})
	dnsmasqtest.Start(t, tp, 0)
	s, err := stack.New(tp.Dev, stack.Config{Addr: tp.Ours})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ll, g := stacktest.AddressOn6(t, s, inet.AddrFromNetip(tp.Prefix6.Addr()))
	tp.Neighbor6(t, ll.Netip(), s.Device().MAC())
	tp.Neighbor6(t, g.Netip(), s.Device().MAC())
	r := netcfg.NewResolver(s, netcfg.StaticServers(netip.AddrPortFrom(tp.Kernel6, 53)))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a6, err := r.LookupAAAA(ctx, dnsmasqtest.UpstreamName)
	if err != nil || len(a6) != 1 || a6[0] != tp.Kernel6 {
		t.Fatalf("AAAA %s = %v, %v; want %v", dnsmasqtest.UpstreamName, a6, err, tp.Kernel6)
	}
	if ap, err := r.Resolve(ctx, dnsmasqtest.UpstreamName+":80"); err != nil || ap != netip.AddrPortFrom(tp.Kernel6, 80) {
		t.Fatalf("Resolve = %v, %v; want the IPv6 address", ap, err)
	}
	if ip, err := r.LookupIP(ctx, dnsmasqtest.Upstream4Name, 0); err != nil || len(ip) != 1 || ip[0] != tp.Kernel {
		t.Fatalf("LookupIP %s (A only) = %v, %v", dnsmasqtest.Upstream4Name, ip, err)
	}
	big, err := r.LookupA(ctx, dnsmasqtest.BigName)
	if err != nil || len(big) != dnsmasqtest.BigCount {
		t.Fatalf("%s over TCP via IPv6: %d addresses, %v", dnsmasqtest.BigName, len(big), err)
	}
	if st := s.Stats(); st.UDP.IPv6.OutDatagrams == 0 || st.TCP.IPv6.ActiveOpens == 0 {
		t.Fatalf("queries not over IPv6: UDP %+v, TCP active opens over IPv6 %d", st.UDP.IPv6, st.TCP.IPv6.ActiveOpens)
	}
}
