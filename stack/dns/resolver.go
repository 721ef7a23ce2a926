package dns

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/internal/sysrand"
)

// Dialer opens the sockets the Resolver queries through. The lead wires it
// to our UDP and TCP layers; NetDialer implements it with Go's net.
//
// DialUDP must return a connected socket that delivers only datagrams from
// raddr, bound to a fresh random ephemeral source port per call (RFC 5452
// §9.2: together with the random query ID this is the resolver's defence
// against forged answers; our UDP layer and the host kernel both pick
// random ephemeral ports). If the Conn also implements net.PacketConn,
// the Resolver additionally checks each datagram's source address.
// DialTCP returns a connected TCP stream to raddr. Both must honour ctx
// while connecting and Conn deadlines afterwards.
type Dialer interface {
	DialUDP(ctx context.Context, raddr netip.AddrPort) (net.Conn, error)
	DialTCP(ctx context.Context, raddr netip.AddrPort) (net.Conn, error)
}

// Defaults for the zero Resolver fields.
const (
	DefaultTimeout   = 2 * time.Second
	DefaultAttempts  = 2
	DefaultCacheSize = 128
	maxCNAMEHops     = 8 // CNAME links followed within one answer
	maxUDPResponse   = 4096
)

// Family is a set of address families: the address records a lookup
// asks for.
type Family uint8

// Address families.
const (
	IPv4         Family = 1 << iota // A records (RFC 1035 §3.4.1)
	IPv6                            // AAAA records (RFC 3596)
	BothFamilies = IPv4 | IPv6
)

// ErrBadType is returned by LookupType for a type other than A and AAAA.
var ErrBadType = errors.New("dns: only A and AAAA lookups are supported")

// Resolver is a stub resolver for A and AAAA records. Set the exported
// fields before the first lookup; after that it is safe for concurrent
// use.
type Resolver struct {
	// Servers are the recursive name servers, tried in order.
	Servers []netip.AddrPort
	// Dialer opens sockets; nil means NetDialer (Go's net).
	Dialer Dialer
	// Timeout bounds one try (one query to one server, including a TCP
	// retry after truncation); 0 means DefaultTimeout.
	Timeout time.Duration
	// Attempts is how many rounds over Servers are made; 0 means
	// DefaultAttempts.
	Attempts int
	// Rand supplies query IDs; nil means crypto/rand on hosts and makes
	// lookups fail on tamago.
	Rand io.Reader
	// Clock times cache entries; nil means clock.Real.
	Clock clock.Clock
	// CacheSize bounds the cache; 0 means DefaultCacheSize, negative
	// disables caching.
	CacheSize int
	// Families, if set, says which address families LookupIP (with no
	// family given) and Resolve ask for: those the host can reach, i.e.
	// has a source address of. nil means both.
	Families func() Family

	mu    sync.Mutex // guards cache and Rand
	cache cache
}

// Answer is the result of a successful lookup.
type Answer struct {
	Addrs  []netip.Addr  // the addresses of the type asked for, in the server's order
	TTL    time.Duration // remaining lifetime (the minimum over the chain)
	CNAME  string        // the canonical name, if the answer went through CNAMEs
	Cached bool          // served from the cache
}

// LookupA returns the IPv4 addresses of name. An IPv4 literal is returned
// as is. Errors are *LookupError values wrapping ErrNXDomain, ErrNoData,
// ErrServFail, ErrRefused, ErrTimeout, ErrNoServers or a transport error.
func (r *Resolver) LookupA(ctx context.Context, name string) ([]netip.Addr, error) {
	a, err := r.LookupType(ctx, name, TypeA)
	return a.Addrs, err
}

// LookupAAAA returns the IPv6 addresses of name (RFC 3596), as LookupA
// does the IPv4 ones. An IPv6 literal is returned as is.
func (r *Resolver) LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error) {
	a, err := r.LookupType(ctx, name, TypeAAAA)
	return a.Addrs, err
}

// Lookup is LookupA returning the TTL and cache status too.
func (r *Resolver) Lookup(ctx context.Context, name string) (Answer, error) {
	return r.LookupType(ctx, name, TypeA)
}

// LookupType looks up the address records of type qtype (TypeA or
// TypeAAAA) of name, with their TTL and cache status. An IP literal of
// qtype's family is returned as is; one of the other family has no such
// record (ErrNoData).
func (r *Resolver) LookupType(ctx context.Context, name string, qtype uint16) (Answer, error) {
	if qtype != TypeA && qtype != TypeAAAA {
		return Answer{}, &LookupError{Name: name, Err: ErrBadType}
	}
	if ip, err := netip.ParseAddr(name); err == nil {
		ip = ip.Unmap()
		if ip.Is4() == (qtype == TypeA) && ip.Zone() == "" {
			return Answer{Addrs: []netip.Addr{ip}}, nil
		}
		return Answer{}, &LookupError{Name: name, Err: ErrNoData}
	}
	if _, err := appendName(nil, name); err != nil || name == "" || name == "." {
		if err == nil {
			err = ErrBadName
		}
		return Answer{}, &LookupError{Name: name, Err: err}
	}
	key := canonicalName(name)
	if qtype == TypeAAAA {
		key += "\x00AAAA" // a name never holds a NUL
	}
	if a, err, ok := r.fromCache(key); ok {
		if err != nil {
			return Answer{}, &LookupError{Name: name, Err: err}
		}
		return a, nil
	}
	if len(r.Servers) == 0 {
		return Answer{}, &LookupError{Name: name, Err: ErrNoServers}
	}
	var last error = ErrTimeout
	var lastSrv netip.AddrPort
	for range r.attempts() {
		for _, srv := range r.Servers {
			if err := ctx.Err(); err != nil {
				return Answer{}, &LookupError{Name: name, Server: lastSrv, Err: err}
			}
			lastSrv = srv
			m, err := r.exchange(ctx, srv, name, qtype)
			if err != nil {
				last = err
				continue
			}
			switch m.RCode {
			case RCodeSuccess:
				a, ttl, err := answerOf(m, name, qtype)
				r.store(key, a.Addrs, err, ttl)
				if err != nil {
					return Answer{}, &LookupError{Name: name, Server: srv, Err: err}
				}
				return a, nil
			case RCodeNXDomain:
				r.store(key, nil, ErrNXDomain, negativeTTL(m))
				return Answer{}, &LookupError{Name: name, Server: srv, Err: ErrNXDomain}
			case RCodeServFail:
				last = ErrServFail
			default:
				last = ErrRefused
			}
		}
	}
	if err := ctx.Err(); err != nil {
		last = err
	}
	return Answer{}, &LookupError{Name: name, Server: lastSrv, Err: last}
}

// LookupIP returns the addresses of name in the families fam (0: those
// Resolver.Families gives, or both), the IPv6 ones first (RFC 6724 §10.3:
// the default policy prefers IPv6). Both queries go out at once. It fails
// only when every family asked for fails; its error is then the one that
// says most (ErrNoData only when all had no data).
func (r *Resolver) LookupIP(ctx context.Context, name string, fam Family) ([]netip.Addr, error) {
	if fam == 0 {
		fam = r.families()
	}
	if fam != BothFamilies {
		qtype := TypeA
		if fam == IPv6 {
			qtype = TypeAAAA
		}
		a, err := r.LookupType(ctx, name, qtype)
		return a.Addrs, err
	}
	if ip, err := netip.ParseAddr(name); err == nil && ip.Zone() == "" {
		return []netip.Addr{ip.Unmap()}, nil
	}
	v4 := make(chan result, 1)
	go func() {
		a, err := r.LookupType(ctx, name, TypeA)
		v4 <- result{a.Addrs, err}
	}()
	a6, err6 := r.LookupType(ctx, name, TypeAAAA)
	a4 := <-v4
	if err6 != nil && a4.err != nil {
		if errors.Is(err6, ErrNoData) {
			return nil, a4.err
		}
		return nil, err6
	}
	return append(a6.Addrs, a4.addrs...), nil
}

type result struct {
	addrs []netip.Addr
	err   error
}

// Resolve turns "host:port" into an address: an IP literal host is used as
// is, a name is looked up with LookupIP and its first address used (an
// IPv6 one if the name has one and the host can reach IPv6). The port
// must be numeric.
func (r *Resolver) Resolve(ctx context.Context, hostport string) (netip.AddrPort, error) {
	host, ps, err := net.SplitHostPort(hostport)
	if err != nil {
		return netip.AddrPort{}, err
	}
	port, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return netip.AddrPort{}, &net.AddrError{Err: "invalid port", Addr: hostport}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
	}
	addrs, err := r.LookupIP(ctx, host, 0)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(addrs[0], uint16(port)), nil
}

// answerOf extracts the records of type qtype (A or AAAA) for name from
// a NOERROR response, following CNAMEs within the answer section (RFC
// 1034 §3.6.2). A NODATA answer returns ErrNoData with the negative TTL.
func answerOf(m *Message, name string, qtype uint16) (Answer, time.Duration, error) {
	cur, ttl := name, uint32(math.MaxUint32)
	var a Answer
	for range maxCNAMEHops + 1 {
		for _, rr := range m.Answers {
			if rr.Type == qtype && rr.Class == ClassINET && sameName(rr.Name, cur) {
				ip := rr.A
				if qtype == TypeAAAA {
					ip = rr.AAAA
				}
				a.Addrs = append(a.Addrs, ip)
				ttl = min(ttl, ttlOf(rr.TTL))
			}
		}
		if len(a.Addrs) > 0 {
			if cur != name {
				a.CNAME = cur
			}
			a.TTL = time.Duration(ttl) * time.Second
			return a, a.TTL, nil
		}
		next := ""
		for _, rr := range m.Answers {
			if rr.Type == TypeCNAME && rr.Class == ClassINET && sameName(rr.Name, cur) {
				next, ttl = rr.Target, min(ttl, ttlOf(rr.TTL))
				break
			}
		}
		if next == "" {
			return Answer{}, negativeTTL(m), ErrNoData
		}
		cur = next
	}
	return Answer{}, 0, ErrBadResponse
}

// ttlOf applies RFC 2181 §8: a TTL with the top bit set is treated as 0.
func ttlOf(t uint32) uint32 {
	if t > math.MaxInt32 {
		return 0
	}
	return t
}

// negativeTTL is the negative-caching TTL of RFC 2308 §5: the minimum of
// the authority SOA's TTL and its MINIMUM field; 0 (do not cache) without
// an SOA.
func negativeTTL(m *Message) time.Duration {
	for _, rr := range m.Authorities {
		if rr.Type == TypeSOA {
			return time.Duration(min(ttlOf(rr.TTL), ttlOf(rr.SOA.Minimum))) * time.Second
		}
	}
	return 0
}

func (r *Resolver) fromCache(key string) (Answer, error, bool) {
	if r.CacheSize < 0 {
		return Answer{}, nil, false
	}
	now := r.clock().Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.cache.get(key, now)
	if !ok {
		return Answer{}, nil, false
	}
	if e.err != nil {
		return Answer{}, e.err, true
	}
	return Answer{
		Addrs:  append([]netip.Addr(nil), e.addrs...),
		TTL:    e.expires.Sub(now).Truncate(time.Second),
		Cached: true,
	}, nil, true
}

func (r *Resolver) store(key string, addrs []netip.Addr, err error, ttl time.Duration) {
	if r.CacheSize < 0 || ttl <= 0 {
		return
	}
	now := r.clock().Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cache.max = r.CacheSize
	if r.cache.max == 0 {
		r.cache.max = DefaultCacheSize
	}
	r.cache.put(key, cacheEntry{addrs: append([]netip.Addr(nil), addrs...), err: err, expires: now.Add(ttl)}, now)
}

// newID draws a random query ID (RFC 5452 §4.3).
func (r *Resolver) newID() (uint16, error) {
	var b [2]byte
	r.mu.Lock()
	defer r.mu.Unlock()
	src := r.Rand
	if src == nil {
		if src = sysrand.Reader(); src == nil {
			return 0, xerr.Wrap("dns: Resolver.Rand", sysrand.ErrRequired)
		}
	}
	if _, err := io.ReadFull(src, b[:]); err != nil {
		return 0, xerr.Wrap("dns: query ID", err)
	}
	return uint16(b[0])<<8 | uint16(b[1]), nil
}

func (r *Resolver) clock() clock.Clock {
	if r.Clock == nil {
		return clock.Real{}
	}
	return r.Clock
}

func (r *Resolver) dialer() Dialer {
	if r.Dialer == nil {
		return NetDialer{}
	}
	return r.Dialer
}

func (r *Resolver) timeout() time.Duration {
	if r.Timeout <= 0 {
		return DefaultTimeout
	}
	return r.Timeout
}

func (r *Resolver) families() Family {
	if r.Families == nil {
		return BothFamilies
	}
	if f := r.Families() & BothFamilies; f != 0 {
		return f
	}
	return BothFamilies
}

func (r *Resolver) attempts() int {
	if r.Attempts <= 0 {
		return DefaultAttempts
	}
	return r.Attempts
}
