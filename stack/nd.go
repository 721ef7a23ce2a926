//go:build !mirago_noipv6

package stack

import (
	"context"
	"slices"

	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/mld"
	"github.com/mirago/mirago/stack/ndp"
	"github.com/mirago/mirago/stack/transport"
)

// newND builds Neighbor Discovery and MLD under the IPv6 layer: ndp
// becomes its link (before the transports ask its headroom) and sets its
// addresses' states; MLD reports the groups it joins.
func (s *Stack) newND(cfg Config) error {
	ndCfg := cfg.ND
	if ndCfg.Rand == nil {
		ndCfg.Rand = cfg.Rand
	}
	onChange := ndCfg.OnChange
	ndCfg.OnChange = func() {
		if onChange != nil {
			onChange()
		}
		close(s.nd6Changed)
		s.nd6Changed = make(chan struct{})
	}
	onMTU := ndCfg.OnMTU
	ndCfg.OnMTU = func(mtu int) {
		s.setMTU6Locked(mtu) // TCP lowers an MSS above mtu-60
		if onMTU != nil {
			onMTU(mtu)
		}
	}
	onDup := ndCfg.OnDuplicate
	ndCfg.OnDuplicate = func(a inet.Addr, from inet.MAC, inUse bool) {
		if onDup != nil {
			onDup(a, from, inUse)
		}
		if s.onDup6 != nil {
			s.onDup6(a, from, inUse)
		}
	}
	s.nd6Changed = make(chan struct{})
	nd, err := ndp.New(s.l.Eth, s.l.IPv6, s.timers, ndCfg)
	if err != nil {
		return err
	}
	s.l.ND = nd
	s.l.ND.SetErrorSink(s.l.IPv6)
	s.l.IPv6.SetLink(s.l.ND)
	mldCfg := cfg.MLD
	if mldCfg.Rand == nil {
		mldCfg.Rand = cfg.Rand
	}
	m, err := mld.New(s.l.ND, s.l.ND, s.timers, mldCfg)
	if err != nil {
		return err
	}
	s.l.MLD = m
	return nil
}

// startND hands ndp ICMPv6 types 133-137 and MLD 130-132 and 143, makes
// the Ethernet layer accept exactly the groups the IPv6 layer joins,
// adds the static addresses and starts autoconfiguration. Called by New
// with the stack lock held.
func (s *Stack) startND(cfg Config) {

	nd := func(p *transport.Packet, m icmpv6.Message) { s.l.ND.Input(p.Src, p.Dst, p.TTL, p.Fragmented, m) }
	for t := ndp.TypeRouterSolicit; t <= ndp.TypeRedirect; t++ {
		s.l.ICMPv6.Register(t, nd)
	}
	ml := func(p *transport.Packet, m icmpv6.Message) { s.l.MLD.Input(p.Src, p.Dst, p.TTL, m) }
	for _, t := range []uint8{mld.TypeQuery, mld.TypeReportV1, mld.TypeDoneV1, mld.TypeReportV2} {
		s.l.ICMPv6.Register(t, ml)
	}
	// The hook runs at once for ff02::1, joined from the start.
	s.l.IPv6.SetGroupHookLocked(func(g inet.Addr, joined bool) {
		if joined {
			s.l.Eth.JoinGroup(inet.MulticastMAC(g))
			s.l.MLD.Join(g)
		} else {
			s.l.Eth.LeaveGroup(inet.MulticastMAC(g))
			s.l.MLD.Leave(g)
		}
	})
	for _, p := range cfg.Addrs6 {
		s.l.ND.AddStatic(p, 0)
	}
	s.l.ND.Start()
}

// AddAddr6 makes p.Addr one of our IPv6 addresses, with p's prefix
// on-link, once Duplicate Address Detection finds no other node using it
// (a duplicate is reported to the hook SetDuplicateHook6 sets and shows
// in Addrs6). It returns ndp.ErrAddr for an address that cannot be ours,
// ndp.ErrTooManyAddr when the table is full, ErrNoIPv6 without IPv6.
func (s *Stack) AddAddr6(p inet.Prefix6) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.l.ND == nil {
		return ErrNoIPv6
	}
	return s.l.ND.AddStatic(p, 0)
}

// RemoveAddr6 removes an address AddAddr6 (or Config.Addrs6) added.
func (s *Stack) RemoveAddr6(a inet.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.l.ND == nil {
		return ErrNoIPv6
	}
	return s.l.ND.RemoveStatic(a)
}

// Addrs6 returns our IPv6 addresses: the link-local one, SLAAC and
// static ones, with their state and lifetimes (duplicates included).
func (s *Stack) Addrs6() []ndp.AddrInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.l.ND == nil {
		return nil
	}
	return s.l.ND.Addrs(nil)
}

// Routers6 returns the default routers learned from advertisements.
func (s *Stack) Routers6() []inet.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.l.ND == nil {
		return nil
	}
	return s.l.ND.Routers(nil)
}

// DNSServers6 returns the recursive DNS servers learned from
// advertisements (RDNSS, RFC 8106), with when each expires.
func (s *Stack) DNSServers6() []ndp.DNSServer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.l.ND == nil {
		return nil
	}
	return s.l.ND.DNSServers(nil)
}

// SetDuplicateHook6 sets f to be told when DAD finds one of our
// addresses in use elsewhere, or another node claims one we use (inUse).
// f runs with the stack lock held and must not block; nil removes it.
func (s *Stack) SetDuplicateHook6(f func(a inet.Addr, from inet.MAC, inUse bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onDup6 = f
}

// WaitAddrs6 blocks until cond holds for our IPv6 addresses (checked at
// once and at every change of addresses, default routers or DNS
// servers), or ctx ends.
func (s *Stack) WaitAddrs6(ctx context.Context, cond func([]ndp.AddrInfo) bool) error {
	for {
		s.mu.Lock()
		if s.l.ND == nil {
			s.mu.Unlock()
			return ErrNoIPv6
		}
		addrs, ch := s.l.ND.Addrs(nil), s.nd6Changed
		s.mu.Unlock()
		if cond(addrs) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Preferred6 is a WaitAddrs6 condition: a preferred address of kind k
// (any kind for 0).
func Preferred6(k ndp.AddrKind) func([]ndp.AddrInfo) bool {
	return func(as []ndp.AddrInfo) bool {
		return slices.ContainsFunc(as, func(a ndp.AddrInfo) bool {
			return a.Status == ndp.AddrPreferred && (k == 0 || a.Kind == k)
		})
	}
}
