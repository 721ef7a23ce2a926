//go:build !mirago_noipv6

package stack

import (
	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/mld"
	"github.com/mirago/mirago/stack/ndp"
	"github.com/mirago/mirago/stack/transport"
)

// The IPv6 half of the stack: its layers (ipv6, icmpv6, ndp, mld), their
// wiring and the stack's IPv6 API. A bare-metal image built with IPV6=0
// (build tag mirago_noipv6) has noipv6.go instead and links none of
// these packages.

// The IPv6 layers' settings (Config).
type (
	IPv6Config   = ipv6.Config
	ICMPv6Config = icmpv6.Config
	NDConfig     = ndp.Config
	MLDConfig    = mld.Config
)

// Layers6 are the IPv6 layers (Layers): nil with Config.DisableIPv6.
type Layers6 struct {
	IPv6   *ipv6.Layer
	ICMPv6 *icmpv6.Layer
	ND     *ndp.Layer
	MLD    *mld.Layer
}

// Stats6 are the IPv6 layers' counters (Stats): zero with
// Config.DisableIPv6.
type Stats6 struct {
	IPv6   ipv6.Stats
	ICMPv6 icmpv6.Stats
	ND     ndp.Stats
	MLD    mld.Stats
}

// MaxOwnPrefixes bounds the prefixes OwnPrefixesLocked returns: the IPv4
// subnet and one per IPv6 address.
const MaxOwnPrefixes = 1 + ipv6.MaxAddrs

// newIPv6 builds the IPv6 layers unless Config.DisableIPv6: ipv6, ndp as
// its link (before anyone asks its headroom) with MLD, and icmpv6.
func (s *Stack) newIPv6(cfg Config) error {
	if cfg.DisableIPv6 {
		return nil
	}
	ip6Cfg := cfg.IPv6
	if ip6Cfg.Rand == nil {
		ip6Cfg.Rand = cfg.Rand
	}
	s.l.IPv6 = ipv6.New(nil, s.timers, ip6Cfg)
	if err := s.newND(cfg); err != nil {
		return err
	}
	s.l.ICMPv6 = icmpv6.New(s.l.IPv6, s.timers, cfg.ICMPv6)
	return nil
}

// network6 is the IPv6 layer as the transports' network, or nil.
func (s *Stack) network6() transport.Network {
	if s.l.IPv6 == nil {
		return nil // not a typed nil: network checks v6 != nil
	}
	return s.l.IPv6
}

// register6 registers the IPv6 layer with Ethernet and the transports
// with it.
func (s *Stack) register6() {
	if s.l.IPv6 == nil {
		return
	}
	s.l.Eth.Register(inet.EtherTypeIPv6, s.l.IPv6.Input)
	s.l.IPv6.SetICMP(s.l.ICMPv6)
	s.l.IPv6.Register(inet.ProtoICMPv6, s.l.ICMPv6)
	s.l.IPv6.Register(inet.ProtoUDP, s.l.UDP)
	s.l.IPv6.Register(inet.ProtoTCP, s.l.TCP)
}

// start6Locked starts Neighbor Discovery (startND).
func (s *Stack) start6Locked(cfg Config) {
	if s.l.IPv6 != nil {
		s.startND(cfg)
	}
}

// stats6Locked reads the IPv6 layers' counters.
func (s *Stack) stats6Locked(st *Stats6) {
	if s.l.IPv6 == nil {
		return
	}
	st.IPv6 = s.l.IPv6.StatsLocked()
	st.ICMPv6 = s.l.ICMPv6.StatsLocked()
	st.ND = s.l.ND.StatsLocked()
	st.MLD = s.l.MLD.StatsLocked()
}

// initPing6 hands ICMPv6 echo replies to Ping.
func (s *Stack) initPing6() {
	if s.l.ICMPv6 != nil {
		s.l.ICMPv6.SetOnEchoReply(s.echoReply)
	}
}

// sendEcho6 sends Ping's ICMPv6 echo request (lock held).
func (s *Stack) sendEcho6(dst inet.Addr, id, seq uint16, data []byte) error {
	if s.l.ICMPv6 == nil {
		return transport.ErrAddrFamily
	}
	return s.l.ICMPv6.SendEcho(dst, id, seq, data)
}

// reachable6Locked reports whether a usable IPv6 address wider than
// link-local scope is ours (Reachable).
func (s *Stack) reachable6Locked() bool {
	if s.l.IPv6 == nil {
		return false
	}
	var buf [ipv6.MaxAddrs]ipv6.AddrInfo
	for _, a := range s.l.IPv6.AddrsLocked(buf[:0]) {
		if a.State != ipv6.StateTentative && !a.Prefix.Addr.IsLinkLocalUnicast() && !a.Prefix.Addr.IsLoopback() {
			return true
		}
	}
	return false
}

// ours6Locked reports whether a is one of our IPv6 addresses, usable
// (not tentative).
func (s *Stack) ours6Locked(a inet.Addr) bool {
	if s.l.IPv6 == nil {
		return false
	}
	info, ok := s.l.IPv6.AddrLocked(a)
	return ok && info.State != ipv6.StateTentative
}

// prefixes6Locked appends the prefix of each usable IPv6 address of ours
// to dst, once each.
func (s *Stack) prefixes6Locked(dst []inet.Prefix6) []inet.Prefix6 {
	if s.l.IPv6 == nil {
		return dst
	}
	var buf [ipv6.MaxAddrs]ipv6.AddrInfo
	for _, a := range s.l.IPv6.AddrsLocked(buf[:0]) {
		if a.State == ipv6.StateTentative || a.Prefix.Bits == 0 {
			continue
		}
		p := a.Prefix.Masked()
		dup := false
		for _, q := range dst {
			dup = dup || q == p
		}
		if !dup {
			dst = append(dst, p)
		}
	}
	return dst
}

// SetMTU6 sets the IPv6 link MTU (an RA's MTU option, RFC 4861 §6.3.4):
// 1280..the device MTU; the device MTU, or 0, restores it. Out of range
// it returns an error wrapping ipv6.ErrMTU and changes nothing; with
// IPv6 off, transport.ErrAddrFamily. IPv6 fragments larger packets to
// it, and established IPv6 TCP connections lower an MSS above mtu-60.
func (s *Stack) SetMTU6(mtu int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setMTU6Locked(mtu)
}

// setMTU6Locked is SetMTU6 with the stack lock held (for Neighbor
// Discovery's RA processing).
func (s *Stack) setMTU6Locked(mtu int) error {
	if s.l.IPv6 == nil {
		return transport.ErrAddrFamily
	}
	if err := s.l.IPv6.SetMTU(mtu); err != nil {
		return err
	}
	s.l.TCP.SetMTULocked(inet.IPv6Unspecified, s.l.IPv6.LinkMTU())
	return nil
}
