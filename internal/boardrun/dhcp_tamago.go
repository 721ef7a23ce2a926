//go:build tamago && mirago_dhcp

package boardrun

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/stack/netcfg"
)

// The DHCP client is linked into images built with the mirago_dhcp tag
// (make image DHCP=1 sets it), as lwIP's LWIP_DHCP option does: an image
// with a static address does not carry the client (nodhcp_tamago.go).

// dhcpWaitLog is how often startDHCP says it is still waiting.
const dhcpWaitLog = 30 * time.Second

// startDHCP runs the DHCP client (stack/netcfg) and waits for the first
// lease, for as long as it takes: an appliance without an address has
// nothing else to do. The client keeps running, renewing the lease; its
// DNS servers then resolve names for e.Resolve.
func (e *Env) startDHCP(rnd io.Reader) error {
	d, err := netcfg.StartDHCP(e.Stack, netcfg.DHCPConfig{Hostname: "mirago", Rand: rnd, Log: e.Log})
	if err != nil {
		return xerr.Wrap("dhcp", err)
	}
	e.Log.Info("dhcp: waiting for a lease")
	for {
		ctx, cancel := context.WithTimeout(context.Background(), dhcpWaitLog)
		l, err := d.WaitBound(ctx)
		cancel()
		switch {
		case err == nil:
			// The lease's DNS servers, then those the router
			// advertisements name (RDNSS).
			r := netcfg.NewResolver(e.Stack, netcfg.JoinServers(d.DNSServers, netcfg.RDNSSServers(e.Stack)))
			e.Resolver, e.Resolve = r, r.Resolve
			e.ntpLease, e.clockStepped = d.NTPServers, d.ClockStepped
			e.Settings.Stack.Addr, e.Settings.Stack.Gateway = l.Addr, l.Router
			e.Log.Info("stack addressed by dhcp", "ip", l.Addr.String(), "gw", l.Router.String(), "server", l.Server.String())
			return nil
		case errors.Is(err, context.DeadlineExceeded):
			e.Log.Warn("dhcp: still no lease", "waited", dhcpWaitLog)
		default:
			return xerr.Wrap("dhcp", err)
		}
	}
}
