//go:build linux

package hostrun

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/chronytest"
	"github.com/mirago/mirago/internal/testkit/dnsmasqtest"
	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/sntp"
)

// shifted is the host's clock moved by d: a board that woke up in the
// wrong decade.
type shifted struct{ d time.Duration }

func (s shifted) Now() time.Time { return time.Now().Add(s.d) }
func (s shifted) AfterFunc(d time.Duration, f func()) clock.Timer {
	return time.AfterFunc(d, f)
}

// withinHalfDelay fails t unless the disciplined clock agrees with the
// kernel's (which chronyd serves) within half the round trip of the last
// sample plus 2 ms of scheduling: the bound SNTP itself gives (RFC 4330 §5).
func withinHalfDelay(t *testing.T, what string, c *sntp.Clock, st sntp.Status) {
	t.Helper()
	before := time.Now()
	ours := c.Now()
	after := time.Now()
	mid := before.Add(after.Sub(before) / 2)
	bound := st.Delay/2 + 2*time.Millisecond + after.Sub(before)
	if e := ours.Sub(mid); e.Abs() > bound {
		t.Fatalf("%s: our clock is %v off the kernel's (bound %v; status %+v)", what, e, bound, st)
	}
	t.Logf("%s: our clock is %v off the kernel's (bound %v, delay %v)", what, ours.Sub(mid), bound, st.Delay)
}

// TestNTPChrony: -ntp with chronyd on the TAP's kernel address. The
// runner's client syncs from it; a second client on the same stack whose
// clock starts 20 years behind is stepped once onto the kernel's time,
// within half the round trip, and then only slewed.
func TestNTPChrony(t *testing.T) {
	taptest.Require(t)
	chronytest.Require(t)
	tp := dnsmasqtest.PersistentTAP(t)
	srv := chronytest.Start(t, tp.Kernel)

	f := Flags{TAP: tp.Name, IP: tp.Ours.String(), GW: "", NTP: tp.Kernel.String(), Log: "debug", LogNTPTime: true}
	env, err := f.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer env.Close()
	if env.NTP == nil || env.Clock == nil {
		t.Fatal("no SNTP client with -ntp")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	st, err := env.NTP.WaitSynced(ctx)
	if err != nil {
		t.Fatalf("no sync from chronyd: %v (stats %+v)", err, env.NTP.Stats())
	}
	if st.Server != srv.Addr || st.Stratum != 8 {
		t.Fatalf("status %+v: want chronyd at %v, stratum 8 (its local stratum)", st, srv.Addr)
	}
	withinHalfDelay(t, "runner's clock", env.Clock, st)

	const behind = -20 * 365 * 24 * time.Hour
	wall := sntp.NewClock(shifted{behind})
	c, err := sntp.StartUDP(env.Stack.UDP(), sntp.Config{
		Servers: func() []netip.AddrPort { return []netip.AddrPort{srv.Addr} },
		Clock:   env.Stack.Timers().Clock(), Rand: env.Stack.Rand(), Target: wall, Log: env.Log,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	st, err = c.WaitSynced(ctx)
	if err != nil {
		t.Fatalf("second client: %v", err)
	}
	if d := st.Offset + behind; d.Abs() > time.Second {
		t.Fatalf("step of %v, want about %v", st.Offset, -behind)
	}
	withinHalfDelay(t, "a clock 20 years behind, after its step", wall, st)
	s := c.Stats()
	if s.Steps != 1 || s.Replies != 1 || s.Requests != 1 {
		t.Fatalf("stats %+v", s)
	}
	for r, n := range s.Rejected {
		if n != 0 {
			t.Fatalf("chronyd's reply rejected: %v", sntp.Reason(r))
		}
	}
}

// TestNTPFromDHCP: -dhcp -ntp dhcp, with dnsmasq handing out chronyd's
// address in option 42 (RFC 2132 §8.3).
func TestNTPFromDHCP(t *testing.T) {
	taptest.Require(t)
	dnsmasqtest.Require(t)
	chronytest.Require(t)
	tp := dnsmasqtest.PersistentTAP(t)
	srv := chronytest.Start(t, tp.Kernel)
	dnsmasqtest.Start(t, tp, 0, "--dhcp-option=option:ntp-server,"+tp.Kernel.String())

	f := Flags{TAP: tp.Name, DHCP: true, DHCPTimeout: 20 * time.Second, NTP: "dhcp", Log: "debug"}
	env, err := f.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer env.Close()
	if got := env.DHCP.NTPServers(); len(got) != 1 || got[0] != srv.Addr {
		t.Fatalf("lease NTP servers %v, want %v", got, srv.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	st, err := env.NTP.WaitSynced(ctx)
	if err != nil {
		t.Fatalf("no sync: %v (stats %+v)", err, env.NTP.Stats())
	}
	if st.Server != srv.Addr {
		t.Fatalf("synced from %v, want %v", st.Server, srv.Addr)
	}
	withinHalfDelay(t, "clock from the lease's server", env.Clock, st)
}

// -log-ntp-time stamps records with the SNTP clock once there is one.
func TestLogNTPTime(t *testing.T) {
	var buf bytes.Buffer
	log, clk := newLogger(&buf, slog.LevelInfo, true)
	log.Info("before")
	c := sntp.NewClock(nil)
	c.Step(-10 * 365 * 24 * time.Hour)
	clk.Store(c)
	log.Info("after")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	year := time.Now().Year()
	if len(lines) != 2 || !strings.Contains(lines[0], "time="+itoa(year)) || !strings.Contains(lines[1], "time="+itoa(year-10)) {
		t.Fatalf("log:\n%s", buf.String())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Bad -ntp settings are refused with a reason before anything opens.
func TestNTPFlagErrors(t *testing.T) {
	for _, f := range []Flags{
		{TAP: "x", IP: "10.0.2.15/24", NTP: "10.0.2.2:0", Log: "info"},
		{TAP: "x", IP: "10.0.2.15/24", NTP: "dhcp", Log: "info"},
		{TAP: "x", IP: "10.0.2.15/24", LogNTPTime: true, Log: "info"},
	} {
		if env, err := f.Start(); err == nil || !strings.Contains(err.Error(), "ntp") {
			if env != nil {
				env.Close()
			}
			t.Errorf("%+v: %v", f, err)
		}
	}
}
