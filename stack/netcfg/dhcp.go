package netcfg

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/mirago/mirago/logging"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/dhcp"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/udp"
)

// ErrStopped is returned by WaitBound after Stop.
var ErrStopped = errors.New("netcfg: DHCP client stopped")

// DHCPConfig configures StartDHCP; the zero value is fine.
type DHCPConfig struct {
	// Hostname, if set, is sent as option 12.
	Hostname string
	// ClientID is option 61; nil means hardware type 1 and the MAC.
	ClientID []byte
	// Clock drives the client's retransmissions and lease timers; nil
	// means the real clock.
	Clock clock.Clock
	// Rand supplies transaction IDs and jitter; nil means the stack's
	// (stack.Config.Rand).
	Rand io.Reader
	// Log, if set, receives lease events.
	Log logging.Logger
	// OnBound, if set, is called after every lease (first binding,
	// renewal, rebinding) has been applied to the stack.
	OnBound func(dhcp.Lease)
	// OnExpire, if set, is called after an expired, NAKed or declined
	// lease has been removed from the stack. Stop does not call it.
	OnExpire func()
	// ServerPort overrides the server's port (tests); 0 means 67.
	ServerPort int
	// ReleaseTimeout bounds how long Stop tries to resolve the server's
	// MAC address so that the DHCPRELEASE can go out; 0 means 2 s.
	ReleaseTimeout time.Duration
}

// DHCP runs a DHCP client on a stack and applies its leases.
type DHCP struct {
	s        *stack.Stack
	cfg      DHCPConfig
	conn     *udp.Conn
	client   *dhcp.Client
	readDone chan struct{}
	stopOnce sync.Once

	mu      sync.Mutex
	lease   dhcp.Lease
	bound   bool
	stopped bool
	changed chan struct{} // closed and replaced on every change of the above
	mtu     int           // lease MTU applied to the stack (Stack.SetMTU); 0: none
}

// DHCPPort is the client's UDP port (RFC 2131 §4.1).
const DHCPPort = dhcp.ClientPort

// StartDHCP starts a DHCP client on s. The stack should be unaddressed
// (the client's first DISCOVER goes out from 0.0.0.0); any address it has
// is replaced by the first lease. Call Stop to release the lease.
func StartDHCP(s *stack.Stack, cfg DHCPConfig) (*DHCP, error) {
	conn, err := s.UDP().Bind(netip.AddrPortFrom(netip.IPv4Unspecified(), DHCPPort))
	if err != nil {
		return nil, err
	}
	conn.SetBroadcast(true)
	conn.SetUnspecifiedSource(true)
	d := &DHCP{s: s, cfg: cfg, conn: conn, readDone: make(chan struct{}), changed: make(chan struct{})}
	d.client, err = dhcp.New(dhcp.Config{
		MAC:       s.Device().MAC(),
		Transport: dhcp.PacketConn{Conn: conn, ServerPort: cfg.ServerPort},
		Clock:     cfg.Clock,
		Rand:      cmp.Or(cfg.Rand, s.Rand()),
		Hostname:  cfg.Hostname,
		ClientID:  cfg.ClientID,
		OnBound:   d.onBound,
		OnExpire:  d.onExpire,
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	s.SetARPConflictHook(d.onConflict)
	go func() {
		defer close(d.readDone)
		d.client.ReadLoop(conn)
	}()
	d.client.Start()
	return d, nil
}

// Client returns the underlying DHCP client (state, lease).
func (d *DHCP) Client() *dhcp.Client { return d.client }

// onBound applies a lease; it runs in the client's goroutine.
func (d *DHCP) onBound(l dhcp.Lease) {
	renewal := d.s.Addr() == l.Addr
	d.applyMTU(l.MTU, renewal)
	if !renewal {
		d.s.SetAddr(l.Addr) // announces the address (gratuitous ARP)
	}
	router := l.Router
	if !router.IsUnspecified() && !l.Addr.Contains(router) {
		d.logf(logging.LevelWarn, "dhcp: router not on the leased subnet; ignoring it", "router", router.String(), "addr", l.Addr.String())
		router = inet.Addr4{}
	}
	d.s.SetGateway(router)
	level := logging.LevelInfo
	if renewal {
		level = logging.LevelDebug
	}
	d.logf(level, "dhcp lease", "addr", l.Addr.String(), "router", l.Router.String(), "dns", addrsString(l.DNS), "ntp", addrsString(l.NTP),
		"mtu", l.MTU, "ip_mtu", d.s.MTU(), "lease", leaseTime(l), "server", l.Server.String(), "renewal", renewal)
	if servers := dnsServers(l); len(servers) > 0 && netHook != nil {
		netHook(d.s, servers)
	}
	// Publish last, so that WaitBound returns with everything applied.
	d.mu.Lock()
	d.lease, d.bound = l, true
	d.notifyLocked()
	d.mu.Unlock()
	if d.cfg.OnBound != nil {
		d.cfg.OnBound(l)
	}
}

// onExpire removes the address; it runs in the client's goroutine.
func (d *DHCP) onExpire() {
	d.mu.Lock()
	l := d.lease
	d.lease, d.bound = dhcp.Lease{}, false
	d.notifyLocked()
	d.mu.Unlock()
	d.unconfigure(l)
	d.restoreMTU()
	d.logf(logging.LevelWarn, "dhcp lease lost", "addr", l.Addr.String())
	if d.cfg.OnExpire != nil {
		d.cfg.OnExpire()
	}
}

// applyMTU applies a lease's interface MTU (option 26, RFC 2132 §5.1; 0
// when absent) to the stack's IP layer. The rules:
//
//   - ipv4.MinSetMTU (576) <= mtu <= the device MTU: the stack's MTU
//     becomes mtu (Stack.SetMTU). RFC 2132 allows down to 68, but every
//     host must accept 576-byte datagrams (RFC 791, RFC 1122 §3.3.3), so a
//     smaller value is more likely a misconfiguration than a real link.
//   - below 576 or above the device MTU: ignored with a warning (logged on
//     the first lease and whenever the value changes); we cannot send
//     frames larger than the device's.
//   - absent, or ignored: the device MTU, if an earlier lease's MTU was
//     applied; otherwise the stack's MTU is left alone.
//
// The device MTU comes back when the lease is lost or released
// (restoreMTU).
func (d *DHCP) applyMTU(mtu int, renewal bool) {
	dev := d.s.Device().MTU()
	d.mu.Lock()
	prevLease, applied := d.lease.MTU, d.mtu
	d.mu.Unlock()
	valid := mtu >= ipv4.MinSetMTU && mtu <= dev
	if mtu != 0 && !valid && (!renewal || mtu != prevLease) {
		d.logf(logging.LevelWarn, "dhcp: lease MTU out of range; ignoring it", "mtu", mtu,
			"min", ipv4.MinSetMTU, "device_mtu", dev)
	}
	want := 0 // the device MTU
	if valid {
		want = mtu
	}
	if !valid && applied == 0 {
		return
	}
	if err := d.s.SetMTU(want); err != nil {
		d.logf(logging.LevelWarn, "dhcp: cannot apply the lease MTU", "mtu", mtu, "err", err.Error())
		return
	}
	if want != applied {
		d.logf(logging.LevelInfo, "dhcp: IP MTU set", "mtu", d.s.MTU(), "lease_mtu", mtu)
	}
	d.mu.Lock()
	d.mtu = want
	d.mu.Unlock()
}

// restoreMTU gives the stack back its device MTU if a lease MTU was
// applied.
func (d *DHCP) restoreMTU() {
	d.mu.Lock()
	applied := d.mtu
	d.mtu = 0
	d.mu.Unlock()
	if applied == 0 {
		return
	}
	if err := d.s.SetMTU(0); err != nil {
		d.logf(logging.LevelWarn, "dhcp: cannot restore the device MTU", "err", err.Error())
		return
	}
	d.logf(logging.LevelInfo, "dhcp: IP MTU restored", "mtu", d.s.MTU())
}

// unconfigure removes the address and router of l if the stack still has
// them.
func (d *DHCP) unconfigure(l dhcp.Lease) {
	if l.Addr.Addr.IsUnspecified() {
		return
	}
	mu := d.s.Locker()
	mu.Lock()
	defer mu.Unlock()
	d.unconfigureLocked(l.Addr.Addr)
}

// unconfigureLocked is unconfigure with the stack lock held.
func (d *DHCP) unconfigureLocked(a inet.Addr4) {
	if d.s.LayersLocked().IP.Addr().Addr != a {
		return
	}
	d.s.LayersLocked().ARP.RemoveIPLocked(a)
	d.s.LayersLocked().IP.SetAddr(inet.Prefix4{})
	d.s.LayersLocked().IP.SetGateway(inet.Addr4{})
}

// onConflict is the stack's ARP conflict hook (stack lock held): another
// host claims the leased address. The address is dropped at once, so the
// DHCPDECLINE goes out from 0.0.0.0, and the lease is declined (RFC 2131
// §3.1.5, §4.4.1).
func (d *DHCP) onConflict(a inet.Addr4, from inet.MAC) {
	l, ok := d.client.Lease()
	if !ok || l.Addr.Addr != a {
		return
	}
	d.unconfigureLocked(a)
	d.client.Decline("address in use by " + from.String())
}

func (d *DHCP) notifyLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// ClockStepped tells the DHCP client that the clock it reads is about to
// be stepped forward by dur, so that the lease keeps its remaining time
// (dhcp.Client.ClockStepped). Call it before the step.
func (d *DHCP) ClockStepped(dur time.Duration) {
	d.client.ClockStepped(dur)
	d.mu.Lock()
	if d.bound {
		d.lease.Start = d.lease.Start.Add(dur)
	}
	d.mu.Unlock()
}

// WaitBound blocks until the client holds a lease and returns it. It
// returns ctx's error if ctx ends first, and ErrStopped after Stop.
func (d *DHCP) WaitBound(ctx context.Context) (dhcp.Lease, error) {
	for {
		d.mu.Lock()
		l, bound, stopped, ch := d.lease, d.bound, d.stopped, d.changed
		d.mu.Unlock()
		switch {
		case bound:
			return l, nil
		case stopped:
			return dhcp.Lease{}, ErrStopped
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return dhcp.Lease{}, ctx.Err()
		}
	}
}

// Lease returns the lease in force and whether there is one.
func (d *DHCP) Lease() (dhcp.Lease, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lease, d.bound
}

// DNSServers returns the lease's DNS servers (port 53), or nil.
func (d *DHCP) DNSServers() []netip.AddrPort {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.bound {
		return nil
	}
	return dnsServers(d.lease)
}

// dnsServers is the usable DNS servers of l at port 53.
func dnsServers(l dhcp.Lease) []netip.AddrPort { return servers(l.DNS, 53) }

// NTPServers returns the lease's NTP servers (option 42, RFC 2132 §8.3)
// at port 123, or nil: an sntp.Config.Servers function (NTPServers
// below adds them to static ones).
func (d *DHCP) NTPServers() []netip.AddrPort {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.bound {
		return nil
	}
	return servers(d.lease.NTP, 123)
}

// servers is the usable addresses of as at port.
func servers(as []inet.Addr4, port uint16) []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(as))
	for _, a := range as {
		if !a.IsUnspecified() && !a.IsBroadcast() && !a.IsMulticast() {
			out = append(out, netip.AddrPortFrom(a.Netip(), port))
		}
	}
	return slices.Clip(out)
}

// MTU returns the lease's interface MTU (option 26), or 0. It is the
// value the server sent, whether or not it was applied: Stack.MTU is the
// one in force (see applyMTU for the rules).
func (d *DHCP) MTU() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lease.MTU
}

// Stop releases the lease (DHCPRELEASE, RFC 2131 §4.4.6), removes the
// address and router from the stack and stops the client. It must not be
// called with the stack lock held. Calling it again has no effect.
func (d *DHCP) Stop() {
	d.stopOnce.Do(func() {
		d.s.SetARPConflictHook(nil)
		l, bound := d.client.Lease()
		if bound {
			d.resolveServer(l)
		}
		d.client.Stop() // sends the RELEASE if bound
		d.conn.Close()
		<-d.readDone
		d.mu.Lock()
		d.lease, d.bound, d.stopped = dhcp.Lease{}, false, true
		d.notifyLocked()
		d.mu.Unlock()
		if bound {
			d.unconfigure(l)
			d.logf(logging.LevelInfo, "dhcp lease released", "addr", l.Addr.String(), "server", l.Server.String())
		}
		d.restoreMTU()
	})
}

// resolveServer makes sure the next hop towards the lease's server is in
// the ARP cache, so that the RELEASE is sent at once instead of waiting in
// ARP's queue while the stack shuts down.
func (d *DHCP) resolveServer(l dhcp.Lease) {
	hop := l.Server
	if hop.IsUnspecified() {
		return
	}
	if !l.Addr.Contains(hop) {
		if hop = l.Router; hop.IsUnspecified() {
			return
		}
	}
	timeout := d.cfg.ReleaseTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	d.s.ARP().Query(ctx, hop) // on failure the RELEASE waits in ARP's queue
}

func (d *DHCP) logf(level logging.Level, msg string, args ...any) {
	log := d.cfg.Log
	switch {
	case log == nil:
	case level >= logging.LevelWarn:
		log.Warn(msg, args...)
	case level >= logging.LevelInfo:
		log.Info(msg, args...)
	default:
		log.Debug(msg, args...)
	}
}

func addrsString(as []inet.Addr4) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

func leaseTime(l dhcp.Lease) string {
	if l.LeaseTime == dhcp.Infinite {
		return "infinite"
	}
	return l.LeaseTime.String()
}
