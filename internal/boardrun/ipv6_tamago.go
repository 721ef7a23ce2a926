//go:build tamago && !mirago_noipv6

package boardrun

import (
	"context"

	"github.com/mirago/mirago/internal/addrlog"
)

// startIPv6 logs the IPv6 settings and, from then on, each IPv6 address
// once it is usable (the console's "ipv6 address" lines).
func (e *Env) startIPv6() {
	slaac := !e.Settings.Stack.ND.DisableSLAAC
	ip6 := ""
	for i, p := range e.Settings.Stack.Addrs6 {
		if i > 0 {
			ip6 += ","
		}
		ip6 += p.String()
	}
	e.Log.Info("ipv6 up", "ip6", ip6, "slaac", slaac)
	go addrlog.Run(context.Background(), e.Stack, e.Log)
}
