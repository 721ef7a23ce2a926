//go:build linux

package hostrun

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/dnsmasqtest"
	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/stack/ndp"
)

// TestStartSLAACAndRDNSS is Start with the defaults (SLAAC on, no -dns)
// against dnsmasq as the IPv6 router on the TAP (--enable-ra, the TAP's
// fd00:199:N::/64 advertised, its own address as RDNSS): the stack forms
// an address in the prefix, learns the DNS server from the
// advertisement, and Env.Resolver resolves through it over IPv6, the
// AAAA record first.
func TestStartSLAACAndRDNSS(t *testing.T) {
	dnsmasqtest.Require(t)
	tp := dnsmasqtest.PersistentTAP(t)
	tp6 := taptest.ConfigureKernel6(t, tp.Name, tp.N)
	tp.Kernel6, tp.KernelLL, tp.Prefix6 = tp6.Kernel6, tp6.KernelLL, tp6.Prefix6
	srv := dnsmasqtest.Start(t, tp, 0, "--enable-ra", fmt.Sprintf("--dhcp-range=%s,ra-only,64,10m", tp.Prefix6.Addr()))
	f := Flags{TAP: tp.Name, IP: tp.Ours.String(), Log: "debug"}
	env, err := f.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer env.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in := func(as []ndp.AddrInfo) bool {
		for _, a := range as {
			if a.Kind == ndp.KindSLAAC && a.Status == ndp.AddrPreferred && tp.Prefix6.Contains(a.Prefix.Addr.Netip()) {
				return true
			}
		}
		return false
	}
	if err := env.Stack.WaitAddrs6(ctx, in); err != nil {
		t.Fatalf("no SLAAC address in %v: %v (addresses %+v)\ndnsmasq:\n%s", tp.Prefix6, err, env.Stack.Addrs6(), srv.Log())
	}
	if err := env.Stack.WaitAddrs6(ctx, func([]ndp.AddrInfo) bool { return len(env.Stack.DNSServers6()) > 0 }); err != nil {
		t.Fatalf("no RDNSS server: %v", err)
	}
	if v4, v6 := env.Stack.Reachable(); !v4 || !v6 {
		t.Fatalf("reachable families %v %v", v4, v6)
	}
	ap, err := env.Resolver().Resolve(ctx, dnsmasqtest.UpstreamName+":80")
	if err != nil || ap != netip.AddrPortFrom(tp.Kernel6, 80) {
		t.Fatalf("Resolve through the RDNSS server: %v, %v (servers %v)", ap, err, env.Resolver().CurrentServers())
	}
	servers := env.Resolver().CurrentServers()
	if len(servers) != 1 || !servers[0].Addr().Is6() {
		t.Fatalf("resolver servers %v, want the advertised one", servers)
	}
	srv.WaitLog(t, 5*time.Second, "query[AAAA] "+dnsmasqtest.UpstreamName)
}
