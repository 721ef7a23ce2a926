package ndp

import (
	"errors"
	"io"
	"math/rand/v2"
	"time"

	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/internal/pending"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
)

// Protocol constants (RFC 4861 §10, RFC 4862 §5.5.3, RFC 7217 §6).
const (
	MaxRtrSolicitationDelay = time.Second
	RtrSolicitationInterval = 4 * time.Second
	MaxRtrSolicitations     = 3
	MaxMulticastSolicit     = 3
	MaxUnicastSolicit       = 3
	DelayFirstProbeTime     = 5 * time.Second
	ReachableTime           = 30 * time.Second // REACHABLE_TIME, the BaseReachableTime default
	RetransTimer            = time.Second      // RETRANS_TIMER
	IDGenRetries            = 3                // RFC 7217 §6
	IDGenDelay              = time.Second      // RFC 7217 §6
	twoHours                = 2 * time.Hour    // RFC 4862 §5.5.3 (e)
)

// Bounds on what a router advertisement may set (RFC 4861 §6.2.1 caps
// AdvReachableTime at an hour). A retransmission timer below a second
// would let one advertisement make us send a solicitation storm; above
// a minute it would stall resolution and DAD.
const (
	minRetrans   = time.Second
	maxRetrans   = time.Minute
	minReachable = time.Second
	maxReachable = time.Hour
)

// Defaults for Config's zero fields.
const (
	DefaultCacheSize        = 256
	DefaultPendingPerAddr   = 32 // a fragmented datagram's fragments (a 20 KB one is 17) wait together
	DefaultPendingTotal     = 64
	DefaultStaleTime        = 10 * time.Minute
	DefaultMaxRouters       = 8
	DefaultMaxPrefixes      = 16
	DefaultMaxRedirects     = 16
	DefaultRedirectLifetime = 10 * time.Minute
	DefaultMaxDNSServers    = 4
	MaxAddrs                = 16 // as ipv6.MaxAddrs
)

// Errors returned by Output and the address methods.
var (
	ErrNoRoute     = errors.New("ndp: no route to host (off-link and no default router)")
	ErrQueueFull   = errors.New("ndp: pending queue full")
	ErrTooBig      = errors.New("ndp: packet larger than MTU")
	ErrLocal       = errors.New("ndp: next hop is one of our addresses")
	ErrCacheFull   = errors.New("ndp: neighbor cache full of pending resolutions")
	ErrNoAddr      = errors.New("ndp: no usable source address")
	ErrAddr        = errors.New("ndp: not a usable unicast address")
	ErrTooManyAddr = errors.New("ndp: address table full")
	ErrNoSuchAddr  = errors.New("ndp: no such address")
	ErrNoRand      = errors.New("ndp: Config.Rand not set")
)

// IP is what Neighbor Discovery needs of the IPv6 layer: the address
// table whose states it sets, the groups it joins (the solicited-node
// group of each address, RFC 4862 §5.4.2) and the settings a router
// advertisement changes. *ipv6.Layer implements it. Everything is called
// with the stack lock held.
type IP interface {
	AddAddrLocked(p inet.Prefix6, st ipv6.AddrState) error
	SetAddrStateLocked(a inet.Addr, st ipv6.AddrState) error
	RemoveAddrLocked(a inet.Addr) error
	JoinGroupLocked(g inet.Addr) error
	LeaveGroupLocked(g inet.Addr) error
	// SetMTU sets the link MTU an advertisement's MTU option gives.
	SetMTU(mtu int) error
	// SetHopLimitLocked sets the default hop limit an advertisement's
	// Cur Hop Limit gives (RFC 4861 §6.3.4).
	SetHopLimitLocked(h uint8)
}

// Config configures a Layer. Zero fields take the defaults.
type Config struct {
	// CacheSize bounds the neighbor cache.
	CacheSize int
	// MaxIncomplete bounds the entries waiting for resolution (RFC 6583
	// §7.1: an off-link scan must not fill the cache with them); 0 means
	// CacheSize/4.
	MaxIncomplete int
	// StaleTime is how long an unused STALE entry is kept.
	StaleTime time.Duration
	// PendingPerAddr bounds the packets queued for one unresolved
	// neighbor (RFC 4861 §7.2.2); PendingTotal for all of them.
	PendingPerAddr, PendingTotal int
	// MaxRouters, MaxPrefixes, MaxRedirects and MaxDNSServers bound the
	// default router list, the on-link prefix list, the redirects kept
	// and the RDNSS servers kept.
	MaxRouters, MaxPrefixes, MaxRedirects, MaxDNSServers int
	// RedirectLifetime is how long a redirect is followed.
	RedirectLifetime time.Duration
	// DADTransmits is DupAddrDetectTransmits (RFC 4862 §5.1); 0 means
	// 1, a negative value turns DAD off.
	DADTransmits int
	// DisableSLAAC stops addresses being formed from advertised
	// prefixes (RFC 4862 §5.5.3).
	DisableSLAAC bool
	// DisableRouterDiscovery sends no router solicitation and ignores
	// router advertisements.
	DisableRouterDiscovery bool
	// StableLinkLocal forms the link-local address with an RFC 7217
	// identifier, as the SLAAC ones, instead of the modified EUI-64 of
	// the MAC (RFC 4862 §5.3, RFC 4291 Appendix A).
	StableLinkLocal bool
	// StableSecret is RFC 7217's secret_key; zero means one drawn from
	// Rand at New (addresses then change at every boot: keep a secret to
	// keep them).
	StableSecret [16]byte
	// Rand supplies nonces, random delays and the secret; New fails
	// without it.
	Rand io.Reader
	// OnDuplicate, if set, is told when DAD finds one of our addresses
	// in use elsewhere (from is the other's MAC when the message said
	// it), or when another node claims an address we already use.
	OnDuplicate func(a inet.Addr, from inet.MAC, inUse bool)
	// OnUnreachable, if set, is told when a neighbor does not answer.
	OnUnreachable func(a inet.Addr)
	// OnMTU, if set, is told the link MTU an advertisement set (the
	// stack tells TCP).
	OnMTU func(mtu int)
	// OnChange, if set, is called when the addresses, default routers
	// or DNS servers change.
	OnChange func()
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.CacheSize, DefaultCacheSize)
	def(&c.MaxIncomplete, max(1, c.CacheSize/4))
	def(&c.PendingPerAddr, DefaultPendingPerAddr)
	def(&c.PendingTotal, DefaultPendingTotal)
	def(&c.MaxRouters, DefaultMaxRouters)
	def(&c.MaxPrefixes, DefaultMaxPrefixes)
	def(&c.MaxRedirects, DefaultMaxRedirects)
	def(&c.MaxDNSServers, DefaultMaxDNSServers)
	if c.StaleTime <= 0 {
		c.StaleTime = DefaultStaleTime
	}
	if c.RedirectLifetime <= 0 {
		c.RedirectLifetime = DefaultRedirectLifetime
	}
	if c.DADTransmits == 0 {
		c.DADTransmits = 1
	}
}

// Layer is Neighbor Discovery and address autoconfiguration on one
// Ethernet interface. It implements ipv6.Link. All methods must be
// called with the stack lock held.
type Layer struct {
	eth  *ethernet.Layer
	ip   IP
	errs ErrorSink
	q    *timer.Queue
	cfg  Config
	mac  inet.MAC
	rnd  *rand.ChaCha8

	cache     cache
	pend      pending.Pool
	routers   routerList
	prefixes  prefixList
	redirects redirectList
	addrs     addrList
	dns       dnsList
	rs        solicitor

	baseReachable time.Duration // BaseReachableTime
	reachable     time.Duration // ReachableTime, randomised (RFC 4861 §6.3.2)
	retrans       time.Duration // RetransTimer
	linkMTU       int           // the last RA MTU option applied; 0: none, or the device's
	managed       bool          // the last RA's M flag
	other         bool          // the last RA's O flag
	started       bool          // Start ran

	tx    *pkt.Buf // our ND answers and DAD probes; Transmit is synchronous
	txNS  *pkt.Buf // solicitations for resolution, sent while tx may be queued
	stats Stats
}

// New returns the layer for eth, which sets the address states in ip,
// and registers it for nothing: the stack hands it ICMPv6 types 133-137
// (Input). Its timers run on q. Start begins autoconfiguration. It fails
// when cfg.Rand does: the RFC 7217 secret and DAD's nonces must not be
// predictable.
func New(eth *ethernet.Layer, ip IP, q *timer.Queue, cfg Config) (*Layer, error) {
	cfg.setDefaults()
	l := &Layer{
		eth: eth, ip: ip, q: q, cfg: cfg, mac: eth.MAC(),
		cache:         newCache(cfg.CacheSize),
		pend:          pending.New(cfg.PendingTotal, eth.Headroom(), eth.MTU()),
		baseReachable: ReachableTime,
		retrans:       RetransTimer,
	}
	if cfg.Rand == nil {
		return nil, ErrNoRand
	}
	var seed [32]byte
	if _, err := io.ReadFull(cfg.Rand, seed[:]); err != nil {
		return nil, xerr.Wrap("ndp: Config.Rand", err)
	}
	l.rnd = rand.NewChaCha8(seed)
	if cfg.StableSecret == ([16]byte{}) {
		l.rnd.Read(l.cfg.StableSecret[:])
	}
	l.reachable = l.randomReachable()
	const txSize = ipv6.HeaderLen + 64 // the largest ND message we send: an NS with two options
	l.tx = pkt.New(eth.Headroom()+txSize, eth.Headroom()+ipv6.HeaderLen)
	l.txNS = pkt.New(eth.Headroom()+txSize, eth.Headroom()+ipv6.HeaderLen)
	for i := range l.cache.ents {
		n := int32(i)
		l.cache.ents[i].t.Init(func(now time.Time) { l.onNeighborTimer(n, now) })
	}
	l.routers.init(l, cfg.MaxRouters)
	l.prefixes.init(l, cfg.MaxPrefixes)
	l.redirects.init(l, cfg.MaxRedirects)
	l.addrs.init(l)
	l.dns.init(l, cfg.MaxDNSServers)
	l.rs.t.Init(l.onSolicit)
	return l, nil
}

// Headroom implements ipv6.Link.Headroom: what Ethernet needs in front
// of the IPv6 header.
func (l *Layer) Headroom() int { return l.eth.Headroom() }

// MTU implements ipv6.Link.MTU: the device MTU, the most the link
// carries. An advertisement's MTU option lowers the IPv6 layer's link
// MTU below it (IP.SetMTU).
func (l *Layer) MTU() int { return l.eth.MTU() }

// randomReachable is ReachableTime: BaseReachableTime times a random
// factor in [0.5, 1.5) (RFC 4861 §6.3.2).
func (l *Layer) randomReachable() time.Duration {
	return l.baseReachable/2 + time.Duration(l.rnd.Uint64()%uint64(l.baseReachable))
}

// randomDelay is a random duration in [0, d).
func (l *Layer) randomDelay(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(l.rnd.Uint64() % uint64(d))
}

func (l *Layer) changed() {
	if l.cfg.OnChange != nil {
		l.cfg.OnChange()
	}
}

// Offloads implements ipv6.Link.Offloads: the device's.
func (l *Layer) Offloads() netif.Offloads { return l.eth.Offloads() }

var _ ipv6.Link = (*Layer)(nil)
