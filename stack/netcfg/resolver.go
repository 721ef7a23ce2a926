package netcfg

import (
	"context"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/dns"
)

// Dialer implements dns.Dialer over a stack: UDP sockets from our UDP
// layer (a fresh random ephemeral port per call, RFC 5452 §9.2) and TCP
// connections from our TCP layer.
type Dialer struct {
	Stack *stack.Stack
}

// DialUDP implements dns.Dialer.DialUDP: a connected UDP socket to raddr.
func (d Dialer) DialUDP(ctx context.Context, raddr netip.AddrPort) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := d.Stack.UDP().Dial(raddr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "udp", Addr: net.UDPAddrFromAddrPort(raddr), Err: err}
	}
	return c, nil
}

// DialTCP implements dns.Dialer.DialTCP: a TCP connection to raddr.
func (d Dialer) DialTCP(ctx context.Context, raddr netip.AddrPort) (net.Conn, error) {
	c, err := d.Stack.TCP().Dial(ctx, raddr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(raddr), Err: err}
	}
	return c, nil
}

// Resolver is a stub resolver (dns.Resolver) whose server list may change
// at run time, e.g. with each DHCP lease. Set the exported fields before
// the first lookup; after that it is safe for concurrent use. The answer
// cache is dropped whenever the server list changes.
type Resolver struct {
	// Dialer carries the queries.
	Dialer dns.Dialer
	// Servers returns the name servers to ask; it is called on every
	// lookup. nil or an empty list makes lookups of names fail with
	// dns.ErrNoServers (IP literals still work).
	Servers func() []netip.AddrPort
	// Timeout, Attempts and CacheSize are passed to dns.Resolver (zero
	// values pick its defaults).
	Timeout   time.Duration
	Attempts  int
	CacheSize int
	// Rand supplies query IDs (dns.Resolver.Rand); NewResolver sets it
	// to the stack's. nil means crypto/rand on hosts and makes lookups
	// fail on tamago.
	Rand io.Reader
	// Families says which address families Resolve and LookupIP ask
	// for (dns.Resolver.Families); NewResolver sets it to the stack's
	// (Families). nil means both.
	Families func() dns.Family

	mu      sync.Mutex
	cur     *dns.Resolver
	servers []netip.AddrPort
}

// NewResolver returns a resolver that queries servers() through s.
func NewResolver(s *stack.Stack, servers func() []netip.AddrPort) *Resolver {
	return &Resolver{Dialer: Dialer{Stack: s}, Servers: servers, Rand: s.Rand(),
		Families: func() dns.Family { return Families(s) }}
}

// StaticServers returns a Resolver.Servers function for a fixed list.
func StaticServers(list ...netip.AddrPort) func() []netip.AddrPort {
	list = slices.Clone(list)
	return func() []netip.AddrPort { return list }
}

// Resolver returns a resolver through the stack that asks the DNS servers
// of the lease in force.
func (d *DHCP) Resolver() *Resolver { return NewResolver(d.s, d.DNSServers) }

// resolver returns the dns.Resolver for the current server list.
func (r *Resolver) resolver() *dns.Resolver {
	var servers []netip.AddrPort
	if r.Servers != nil {
		servers = r.Servers()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil || !slices.Equal(servers, r.servers) {
		r.servers = slices.Clone(servers)
		r.cur = &dns.Resolver{
			Servers:   r.servers,
			Dialer:    r.Dialer,
			Timeout:   r.Timeout,
			Attempts:  r.Attempts,
			CacheSize: r.CacheSize,
			Rand:      r.Rand,
			Families:  r.Families,
		}
	}
	return r.cur
}

// CurrentServers returns the server list used by the latest lookup.
func (r *Resolver) CurrentServers() []netip.AddrPort {
	return slices.Clone(r.resolver().Servers)
}

// LookupA returns the IPv4 addresses of name (see dns.Resolver.LookupA).
func (r *Resolver) LookupA(ctx context.Context, name string) ([]netip.Addr, error) {
	return r.resolver().LookupA(ctx, name)
}

// LookupAAAA returns the IPv6 addresses of name (see
// dns.Resolver.LookupAAAA).
func (r *Resolver) LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error) {
	return r.resolver().LookupAAAA(ctx, name)
}

// LookupIP returns the addresses of name in the families fam, IPv6 first
// (see dns.Resolver.LookupIP; 0: the families the stack can reach).
func (r *Resolver) LookupIP(ctx context.Context, name string, fam dns.Family) ([]netip.Addr, error) {
	return r.resolver().LookupIP(ctx, name, fam)
}

// Lookup is LookupA with the TTL and cache status (dns.Resolver.Lookup).
func (r *Resolver) Lookup(ctx context.Context, name string) (dns.Answer, error) {
	return r.resolver().Lookup(ctx, name)
}

// Resolve turns "host:port" into an address: an IP literal is used as is,
// a name is looked up (dns.Resolver.Resolve) and its first address used,
// an IPv6 one when the stack can reach IPv6. The port must be numeric.
func (r *Resolver) Resolve(ctx context.Context, hostport string) (netip.AddrPort, error) {
	return r.resolver().Resolve(ctx, hostport)
}
