package dhcp

import (
	"math"
	"math/bits"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// Infinite is the LeaseTime of a lease that never expires (0xffffffff,
// RFC 2131 §3.3); no renewal happens.
const Infinite = time.Duration(math.MaxInt64)

// Lease is a configuration the client is bound to.
type Lease struct {
	Addr      inet.Prefix4  // yiaddr with the subnet mask (option 1)
	Router    inet.Addr4    // first router (option 3); zero if none
	DNS       []inet.Addr4  // DNS servers (option 6)
	NTP       []inet.Addr4  // NTP servers (option 42, RFC 2132 §8.3)
	MTU       int           // interface MTU (option 26); 0 if not given
	LeaseTime time.Duration // option 51, or Infinite
	T1, T2    time.Duration // renewal and rebinding times (options 58, 59 or the §4.4.5 defaults)
	Server    inet.Addr4    // server identifier (option 54)
	Start     time.Time     // when the lease began: the first REQUEST's send time (§4.4.1)
}

// Expiry returns when the lease ends (the zero Time for Infinite).
func (l Lease) Expiry() time.Time {
	if l.LeaseTime == Infinite {
		return time.Time{}
	}
	return l.Start.Add(l.LeaseTime)
}

// leaseFrom turns an ACK into a Lease; ok is false when the ACK is unusable
// (no address or no lease time). server is the server identifier to use if
// the ACK lacks one.
func leaseFrom(m *Message, start time.Time, server inet.Addr4) (Lease, bool) {
	a := m.YIAddr
	if a.IsUnspecified() || a.IsBroadcast() || a.IsMulticast() || a.IsLoopback() {
		return Lease{}, false
	}
	secs, ok := m.Options.Uint32(OptLeaseTime)
	if !ok || secs == 0 {
		return Lease{}, false
	}
	l := Lease{Addr: inet.Prefix4{Addr: a, Bits: maskBits(m.Options, a)}, DNS: m.Options.Addrs(OptDNS), NTP: m.Options.Addrs(OptNTP), Server: server, Start: start}
	if !usableHost(l.Addr) {
		return Lease{}, false
	}
	if s, ok := m.Options.Addr(OptServerID); ok {
		l.Server = s
	}
	if rs := m.Options.Addrs(OptRouter); len(rs) > 0 {
		l.Router = rs[0]
	}
	if mtu, ok := m.Options.Uint16(OptInterfaceMTU); ok {
		l.MTU = int(mtu)
	}
	if secs == math.MaxUint32 {
		l.LeaseTime, l.T1, l.T2 = Infinite, Infinite, Infinite
		return l, true
	}
	l.LeaseTime = time.Duration(secs) * time.Second
	// RFC 2131 §4.4.5: T1 defaults to 0.5 and T2 to 0.875 of the lease;
	// values that are not T1 < T2 < lease are replaced by the defaults.
	t1, ok1 := m.Options.Uint32(OptRenewalTime)
	t2, ok2 := m.Options.Uint32(OptRebindingTime)
	// 7/8 of the lease, computed so that it cannot overflow: LeaseTime*7
	// overflows a Duration for leases above about 41 years, and secs*7 a
	// uint32.
	l.T1, l.T2 = l.LeaseTime/2, l.LeaseTime-l.LeaseTime/8
	if ok1 && ok2 && t1 < t2 && t2 < secs {
		l.T1, l.T2 = time.Duration(t1)*time.Second, time.Duration(t2)*time.Second
	} else if ok2 && t2 > secs/2 && t2 < secs {
		l.T2 = time.Duration(t2) * time.Second
	} else if ok1 && t1 > 0 && uint64(t1) < uint64(secs)*7/8 {
		l.T1 = time.Duration(t1) * time.Second
	}
	return l, true
}

// maskBits is option 1 as a prefix length, or the classful default when it
// is absent or not contiguous (RFC 1122 §3.3.1.1 style fallback).
func maskBits(o Options, a inet.Addr4) int {
	if m, ok := o.Uint32(OptSubnetMask); ok && m != 0 {
		n := bits.LeadingZeros32(^m)
		if m<<n == 0 {
			return n
		}
	}
	switch {
	case a[0] < 128:
		return 8
	case a[0] < 192:
		return 16
	}
	return 24
}

// usableHost reports whether p.Addr can be a host address: not in 0/8 or
// 240/4 (RFC 1122 §3.2.1.3, RFC 1112 §4), and, on subnets larger than
// /31, neither the network nor the broadcast address of its subnet.
func usableHost(p inet.Prefix4) bool {
	a := p.Addr
	if a[0] == 0 || a[0] >= 240 {
		return false
	}
	if p.Bits < 31 {
		host := a.Uint32() &^ p.Mask()
		if a == p.SubnetBroadcast() || host == 0 {
			return false
		}
	}
	return true
}
