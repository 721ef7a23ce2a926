// Package stack wires the protocol layers of one network interface into a
// Stack: device -> ethernet (+arp) -> ipv4 (+icmp) | ipv6 (+icmpv6) ->
// udp | tcp.
//
// One mutex, the stack lock, serialises all protocol processing (see
// docs/INTERNALS.md): the device's receive handler takes it once per frame,
// the timer queue takes it to run expired timers, and the socket APIs take
// it around their calls into the layers.
package stack

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/stack/arp"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/icmp"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/internal/sysrand"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/tcp"
	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/udp"
)

// Config configures a Stack. Zero values pick defaults.
type Config struct {
	// Addr is our address and on-link prefix; the zero value leaves the
	// stack unaddressed (for DHCP).
	Addr inet.Prefix4
	// Gateway is the default router; zero means on-link only.
	Gateway inet.Addr4
	// Clock drives every protocol timer (default: the real clock).
	Clock clock.Clock
	// Rand seeds ISNs, ports and IDs. The default is crypto/rand on
	// hosts; on tamago there is none (it would link the crypto module into
	// the image) and New fails without one: pass the board's entropy
	// source.
	Rand io.Reader

	// DisableIPv6 builds the stack without IPv6 (on by default).
	DisableIPv6 bool
	// Addrs6 are static IPv6 addresses, each with its on-link prefix,
	// taken after DAD. A link-local address is always formed and SLAAC
	// runs unless ND.DisableSLAAC.
	Addrs6 []inet.Prefix6

	ARP  arp.Config
	IPv4 ipv4.Config
	ICMP icmp.Config
	// The IPv6 layers' settings: ipv6.Config, icmpv6.Config, ndp.Config,
	// mld.Config (types alike; an image built with IPV6=0, build tag
	// mirago_noipv6, has placeholders instead: ipv6.go, noipv6.go).
	IPv6   IPv6Config
	ICMPv6 ICMPv6Config
	ND     NDConfig
	MLD    MLDConfig
	UDP    udp.Config
	TCP    tcp.Config
}

// Stack is one network interface with its protocol layers.
type Stack struct {
	mu     sync.Mutex
	dev    netif.Device
	timers *timer.Queue
	rand   io.Reader

	l Layers // set by New, never changed; see LayersLocked

	ping pinger

	onConflict func(inet.Addr4, inet.MAC)                   // SetARPConflictHook; guarded by mu
	onDup6     func(a inet.Addr, from inet.MAC, inUse bool) // SetDuplicateHook6; guarded by mu
	nd6Changed chan struct{}                                // closed and replaced at every ND change; guarded by mu
}

// New builds a stack on dev and starts receiving.
func New(dev netif.Device, cfg Config) (*Stack, error) {
	if dev == nil {
		return nil, errors.New("stack: nil device")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Rand == nil {
		if cfg.Rand = sysrand.Reader(); cfg.Rand == nil {
			return nil, xerr.Wrap("stack: Config.Rand", sysrand.ErrRequired)
		}
	}
	s := &Stack{dev: dev, rand: cfg.Rand}
	s.timers = timer.New(cfg.Clock, &s.mu)

	s.l.Eth = ethernet.New(dev)
	arpCfg := cfg.ARP
	arpCfg.Lock = &s.mu
	cfgConflict := arpCfg.OnConflict
	arpCfg.OnConflict = func(a inet.Addr4, m inet.MAC) {
		if cfgConflict != nil {
			cfgConflict(a, m)
		}
		if s.onConflict != nil {
			s.onConflict(a, m)
		}
	}
	s.l.ARP = arp.New(s.l.Eth, s.timers, arpCfg)
	ipCfg := cfg.IPv4
	if ipCfg.Rand == nil {
		ipCfg.Rand = cfg.Rand
	}
	s.l.IP = ipv4.New(s.l.ARP, s.timers, ipCfg)
	s.l.ICMP = icmp.New(s.l.IP, s.timers, cfg.ICMP)
	if err := s.newIPv6(cfg); err != nil {
		return nil, err
	}

	// The transports send through one family-neutral network that
	// dispatches by address family, and every network layer delivers to
	// the same transports (docs/INTERNALS.md, "Wiring").
	net := &network{v4: s.l.IP, v6: s.network6()}
	udpCfg := cfg.UDP
	if udpCfg.Clock == nil {
		udpCfg.Clock = cfg.Clock
	}
	s.l.UDP = udp.New(net, &s.mu, cfg.Rand, udpCfg)
	var err error
	if s.l.TCP, err = tcp.New(net, s.timers, &s.mu, cfg.Rand, cfg.TCP); err != nil {
		return nil, xerr.Wrap("stack", err)
	}
	s.l.Eth.Register(inet.EtherTypeIPv4, s.l.IP.Input)
	s.l.IP.SetICMP(s.l.ICMP)
	s.l.IP.Register(inet.ProtoICMP, s.l.ICMP)
	s.l.IP.Register(inet.ProtoUDP, s.l.UDP)
	s.l.IP.Register(inet.ProtoTCP, s.l.TCP)
	s.register6()
	if err := s.initPing(cfg.Rand); err != nil {
		return nil, err
	}

	s.mu.Lock()
	if cfg.Addr.Addr != (inet.Addr4{}) {
		s.setAddr(cfg.Addr)
	}
	s.l.IP.SetGateway(cfg.Gateway)
	s.start6Locked(cfg)
	s.mu.Unlock()

	if rn, ok := dev.(netif.TxRoomNotifier); ok && rn.SetTxRoom(s.txRoom) {
		s.mu.Lock()
		s.l.TCP.SetTxRoomNotifyLocked(true)
		s.mu.Unlock()
	}
	dev.SetHandler(s.input)
	return s, nil
}

// txRoom is the device's transmit-room notification (netif.TxRoomNotifier):
// TCP sends what it kept while the device was busy (stack/tcp/txsched.go).
func (s *Stack) txRoom() {
	s.mu.Lock()
	s.l.TCP.TxRoomLocked()
	s.mu.Unlock()
}

// input is the device's receive handler: one frame, under the stack lock.
// TCP learns whether more frames of the driver's batch follow, and sends
// the ACKs it deferred to the batch's end after the last
// (stack/tcp/ackbatch.go).
func (s *Stack) input(frame []byte, meta netif.RxMeta) {
	s.mu.Lock()
	s.l.TCP.SetBatchLocked(meta.More)
	if frame != nil { // nil only ends a batch (netif.RxMeta.More)
		s.l.Eth.Input(frame, meta)
	}
	if !meta.More {
		s.l.TCP.EndBatchLocked()
	}
	s.mu.Unlock()
}

// StepClock is for the owner of the clock the stack's timers read (a
// board's runtime clock, set from NTP): it takes the stack lock, moves
// the stack's time bases (the timer queue, TCP's) forward by d, and calls
// step, which must move that clock forward by d, before releasing the
// lock. Protocol timers then keep their remaining time, and TCP sees no
// jump, instead of every timer firing at once as after a long suspend.
// Only forward steps are handled: a clock stepped back would delay every
// runtime timer armed before.
func (s *Stack) StepClock(d time.Duration, step func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timers.Shift(d)
	s.l.TCP.ShiftClockLocked(d)
	step()
}

// Locker returns the stack lock, for code that calls the layers' lock-held
// methods itself (LayersLocked).
func (s *Stack) Locker() sync.Locker { return &s.mu }

// Layers are a stack's protocol layers.
type Layers struct {
	Eth  *ethernet.Layer
	ARP  *arp.Layer
	IP   *ipv4.Layer
	ICMP *icmp.Layer
	// Layers6 holds IPv6, ICMPv6, ND and MLD: nil with
	// Config.DisableIPv6, and absent from an image built without IPv6
	// (ipv6.go, noipv6.go).
	Layers6
	UDP *udp.Layer
	TCP *tcp.Layer
}

// LayersLocked returns the stack's layers for calling their methods
// directly (tests, diagnostics): hold the stack lock (Locker) while doing
// so. Every method of ethernet, ipv4 and icmp, and every method whose name
// ends in Locked, needs it held (docs/INTERNALS.md, "Locking"); the socket
// APIs take it themselves, so reach them through TCP and UDP instead.
func (s *Stack) LayersLocked() Layers { return s.l }

// TCP returns the TCP layer for its socket API (Listen, Dial, DialFrom,
// Config), which takes the stack lock itself.
func (s *Stack) TCP() *tcp.Layer { return s.l.TCP }

// ARP returns the ARP layer for Query, which takes the stack lock itself.
func (s *Stack) ARP() *arp.Layer { return s.l.ARP }

// UDP returns the UDP layer for its socket API (Bind, Dial), which takes
// the stack lock itself.
func (s *Stack) UDP() *udp.Layer { return s.l.UDP }

// Timers returns the stack's timer queue.
func (s *Stack) Timers() *timer.Queue { return s.timers }

// Rand returns the stack's random source (Config.Rand or the default),
// for services on the stack that need their own (DHCP, DNS).
func (s *Stack) Rand() io.Reader { return s.rand }

// Device returns the network device.
func (s *Stack) Device() netif.Device { return s.dev }

// SetAddr changes our address: the IP layer takes it and ARP answers for it
// after announcing it with a gratuitous ARP.
func (s *Stack) SetAddr(p inet.Prefix4) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setAddr(p)
}

func (s *Stack) setAddr(p inet.Prefix4) {
	if old := s.l.IP.Addr(); old.Addr != (inet.Addr4{}) {
		s.l.ARP.RemoveIPLocked(old.Addr)
	}
	s.l.IP.SetAddr(p)
	if p.Addr != (inet.Addr4{}) {
		s.l.ARP.AddIPLocked(p.Addr)
	}
}

// SetARPConflictHook sets f to be called when another host claims one of
// our addresses (arp.Config.OnConflict; a DHCP client declines the lease).
// f runs with the stack lock held and must not block; it is called after
// Config.ARP.OnConflict, if that is set too. nil removes the hook.
func (s *Stack) SetARPConflictHook(f func(addr inet.Addr4, from inet.MAC)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onConflict = f
}

// Addr returns our address and prefix.
func (s *Stack) Addr() inet.Prefix4 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.l.IP.Addr()
}

// SetGateway sets the default router.
func (s *Stack) SetGateway(a inet.Addr4) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.l.IP.SetGateway(a)
}

// SetMTU sets the IP MTU, e.g. to a DHCP lease's interface MTU (RFC 2132
// §5.1; stack/netcfg does this). It must be in ipv4.MinSetMTU (576)..the
// device MTU; the device MTU, or 0, restores it. Out of range it returns an
// error wrapping ipv4.ErrMTU and changes nothing.
//
// IPv4 fragments larger datagrams (UDP, ICMP) to the new MTU; TCP
// advertises MSS mtu-40 on new connections, and established connections
// keep their MSS unless it exceeds mtu-40, when it is lowered as for a
// smaller path MTU (tcp.Layer.SetMTU).
func (s *Stack) SetMTU(mtu int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.l.IP.SetMTU(mtu); err != nil {
		return err
	}
	s.l.TCP.SetMTULocked(inet.AnyIPv4, s.l.IP.MTU(inet.AnyIPv4))
	return nil
}

// MTU returns the IP MTU: the device MTU unless SetMTU lowered it.
func (s *Stack) MTU() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.l.IP.MTU(inet.AnyIPv4)
}

// Close stops receiving and closes the device.
func (s *Stack) Close() error {
	s.dev.SetHandler(nil)
	if rn, ok := s.dev.(netif.TxRoomNotifier); ok {
		rn.SetTxRoom(nil)
	}
	return s.dev.Close()
}

// Stats is a snapshot of every layer's counters.
type Stats struct {
	Device   netif.Stats
	Ethernet ethernet.Stats
	ARP      arp.Stats
	IP       ipv4.Stats
	ICMP     icmp.Stats
	// Stats6 holds IPv6, ICMPv6, ND and MLD: zero with
	// Config.DisableIPv6, absent without IPv6 built in.
	Stats6
	UDP udp.Stats
	TCP tcp.Stats
}

// Stats returns a consistent snapshot of all counters, taken under the
// stack lock.
func (s *Stack) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Device:   s.dev.Stats(),
		Ethernet: s.l.Eth.StatsLocked(),
		ARP:      s.l.ARP.StatsLocked(),
		IP:       s.l.IP.StatsLocked(),
		ICMP:     s.l.ICMP.StatsLocked(),
		UDP:      s.l.UDP.StatsLocked(),
		TCP:      s.l.TCP.StatsLocked(),
	}
	s.stats6Locked(&st.Stats6)
	return st
}
