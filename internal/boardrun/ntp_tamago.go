//go:build tamago && mirago_ntp

package boardrun

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/mirago/mirago/internal/buildcfg"
	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/logging"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/sntp"
)

// The SNTP client is linked into images built with the mirago_ntp tag
// (make image NTP=SERVERS sets it), like DHCP: an image without NTP does
// not carry it (nontp_tamago.go).

// ntpWait bounds how long Start waits for the first sync before the app
// starts anyway; the client goes on polling, and steps the clock when a
// server first answers.
const ntpWait = 10 * time.Second

// startNTP runs the SNTP client (stack/sntp) on the board's runtime
// clock, from the servers of buildcfg.NTP, and waits up to ntpWait for
// the first sync, which sets the clock so that time.Now is right. Log
// lines carry the time from then on.
func (e *Env) startNTP(rnd io.Reader) error {
	if buildcfg.NTP == "" {
		return nil
	}
	servers, lease, err := sntp.ParseServers(buildcfg.NTP)
	if err != nil {
		return err
	}
	if lease && !e.Settings.DHCP {
		return errors.New("bad NTP " + buildcfg.NTP + ": " + sntp.LeaseServers + " (the lease's servers) needs DHCP=1")
	}
	for _, hp := range servers {
		if host, _, _ := net.SplitHostPort(hp); !e.Settings.DHCP {
			if _, err := netip.ParseAddr(host); err != nil {
				return errors.New("bad NTP server " + host + ": a name needs DHCP=1 (the lease's DNS servers)")
			}
		}
	}
	var leaseServers func() []netip.AddrPort
	if lease {
		leaseServers = e.ntpLease
	}
	target := &runtimeClock{s: e.Stack, stepped: e.clockStepped, log: e.Log}
	c, err := sntp.StartUDP(e.Stack.UDP(), sntp.Config{
		Servers: sntp.Servers(servers, e.Resolve, leaseServers),
		Clock:   e.Stack.Timers().Clock(), Rand: rnd, Target: target, Log: e.Log,
	})
	if err != nil {
		return xerr.Wrap("ntp", err)
	}
	e.NTPMetrics, e.NTPGauges = func() any { return c.Metrics() }, sntp.MetricGauges()
	e.Log.Info("ntp: waiting for the time", "servers", servers, "lease", lease)
	ctx, cancel := context.WithTimeout(context.Background(), ntpWait)
	defer cancel()
	if _, err := c.WaitSynced(ctx); err != nil {
		e.Log.Warn("ntp: no time yet; starting without it", "waited", ntpWait)
	}
	return nil
}

// runtimeClock is the sntp.Target of a board: TamaGo's runtime clock,
// which is both time.Now's wall clock and the monotonic clock of every
// timer (runtime/os_tamago.go: walltime is nanotime). A step moves it
// forward through Stack.StepClock, after telling the DHCP client, so that
// the stack's timers and the lease keep their remaining time; backward
// steps are refused (every runtime timer armed before would be late by
// the step). Slews change its rate by 500 ppm (the board's SlewClock).
type runtimeClock struct {
	s       *stack.Stack
	stepped func(time.Duration) // the DHCP client's ClockStepped, or nil
	log     logging.Logger
}

var errBackward = errors.New("the runtime clock only steps forward (it is also the monotonic clock)")

// Now implements sntp.Target.
func (r *runtimeClock) Now() time.Time { return time.Now() }

// Step implements sntp.Target.
func (r *runtimeClock) Step(d time.Duration) error {
	if d < 0 {
		return errBackward
	}
	if r.stepped != nil {
		r.stepped(d)
	}
	r.s.StepClock(d, func() { stepClock(d) })
	if c, ok := r.log.(*logging.Console); ok {
		c.SetClock(time.Now)
	}
	return nil
}

// Slew implements sntp.Target.
func (r *runtimeClock) Slew(d time.Duration) error {
	slewClock(d)
	return nil
}
