package arp

import (
	"errors"
	"sync"
	"time"

	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/internal/pending"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
)

// Defaults for Config's zero fields.
const (
	DefaultCacheSize       = 512
	DefaultLifetime        = 60 * time.Second // RFC 1122 §2.3.2.1 suggests about a minute
	DefaultRequestInterval = time.Second      // RFC 1122 §2.3.2.1: at most 1 request/s per address
	DefaultMaxRetries      = 3
	DefaultPendingPerAddr  = 4
	DefaultPendingTotal    = 64
	// DefendInterval is the least time between two defences of one of our
	// addresses (DEFEND_INTERVAL, RFC 5227 §2.4 (b)).
	DefendInterval = 10 * time.Second
	// AnnounceNum and AnnounceInterval are RFC 5227 §1.1's ANNOUNCE_NUM
	// and ANNOUNCE_INTERVAL.
	AnnounceNum      = 2
	AnnounceInterval = 2 * time.Second
)

// Errors returned by Output and Query.
var (
	ErrUnreachable = errors.New("arp: no reply from next hop")
	ErrQueueFull   = errors.New("arp: pending queue full")
	ErrTooBig      = errors.New("arp: packet larger than MTU")
	ErrAddr        = errors.New("arp: cannot resolve the unspecified address")
	ErrNoLock      = errors.New("arp: Config.Lock not set")
	ErrLocal       = errors.New("arp: next hop is one of our addresses")
	ErrCacheFull   = errors.New("arp: cache full of pending resolutions")
)

// Config configures a Layer. Zero fields take the defaults above.
type Config struct {
	// CacheSize bounds the number of cache entries.
	CacheSize int
	// Lifetime is how long a confirmed entry is trusted (RFC 1122 §2.3.2.1).
	Lifetime time.Duration
	// RequestInterval is the time between requests for one address; values
	// under 1s are raised to 1s (RFC 1122 §2.3.2.1).
	RequestInterval time.Duration
	// MaxRetries is how many requests are sent before giving up.
	MaxRetries int
	// PendingPerAddr bounds the packets queued for one unresolved address.
	PendingPerAddr int
	// PendingTotal bounds the packets queued for all addresses.
	PendingTotal int
	// IsBroadcast, if set, reports further addresses (subnet broadcasts)
	// that Output sends to ff:ff:ff:ff:ff:ff.
	IsBroadcast func(inet.Addr4) bool
	// OnUnreachable, if set, is called when resolution of an address fails.
	OnUnreachable func(inet.Addr4)
	// OnConflict, if set, is called when another host claims one of our
	// addresses (RFC 5227 §2.4); the DHCP client DECLINEs on it.
	OnConflict func(inet.Addr4, inet.MAC)
	// Lock is the stack lock; Query takes it. Hooks run with it held and
	// must not block or call Query.
	Lock sync.Locker
}

func (c *Config) setDefaults() {
	if c.CacheSize <= 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.Lifetime <= 0 {
		c.Lifetime = DefaultLifetime
	}
	if c.RequestInterval < time.Second {
		c.RequestInterval = DefaultRequestInterval
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.PendingPerAddr <= 0 {
		c.PendingPerAddr = DefaultPendingPerAddr
	}
	if c.PendingTotal <= 0 {
		c.PendingTotal = DefaultPendingTotal
	}
}

// Layer is the ARP layer of one Ethernet interface. It implements the
// ipv4 Link interface. All methods except Query must be called with the
// stack lock held.
type Layer struct {
	eth   *ethernet.Layer
	q     *timer.Queue
	cfg   Config
	mac   inet.MAC
	ips   []ownIP
	cache cache
	pend  pending.Pool
	tx    *pkt.Buf // ARP packets are built here; Transmit is synchronous
	annT  timer.Entry
	stats Stats
}

// New returns the ARP layer for eth and registers it for EtherType 0x0806.
// Its timers run on q.
func New(eth *ethernet.Layer, q *timer.Queue, cfg Config) *Layer {
	cfg.setDefaults()
	l := &Layer{
		eth:   eth,
		q:     q,
		cfg:   cfg,
		mac:   eth.MAC(),
		cache: newCache(cfg.CacheSize),
		pend:  pending.New(cfg.PendingTotal, eth.Headroom(), eth.MTU()),
		tx:    pkt.New(eth.Headroom()+ethernet.MinPayload, eth.Headroom()),
	}
	for i := range l.cache.ents {
		n := int32(i)
		l.cache.ents[i].t.Init(func(now time.Time) { l.onTimer(n, now) })
	}
	l.annT.Init(l.onAnnounce)
	eth.Register(inet.EtherTypeARP, l.Input)
	return l
}

// Headroom implements ipv4.Link.Headroom: what Ethernet needs in front of
// the IPv4 header.
func (l *Layer) Headroom() int { return l.eth.Headroom() }

// MTU implements ipv4.Link.MTU.
func (l *Layer) MTU() int { return l.eth.MTU() }

// Offloads implements ipv4.Link.Offloads: the device's.
func (l *Layer) Offloads() netif.Offloads { return l.eth.Offloads() }

// send builds an ARP packet, padded to the Ethernet minimum, and sends it
// to dst.
func (l *Layer) send(dst inet.MAC, f Fields) bool {
	l.tx.Reset(l.eth.Headroom())
	b := l.tx.Append(ethernet.MinPayload)
	clear(b)
	f.SenderMAC = l.mac
	if _, err := f.Encode(b); err != nil {
		return false
	}
	if err := l.eth.Write(dst, inet.EtherTypeARP, l.tx); err != nil {
		l.stats.TxErrors++
		return false
	}
	return true
}

func (l *Layer) sendRequest(dst inet.MAC, a inet.Addr4) {
	if l.send(dst, Fields{Op: OpRequest, SenderIP: l.source(), TargetIP: a}) {
		l.stats.RequestsSent++
	}
}
