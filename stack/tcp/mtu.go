package tcp

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

// SetMTULocked tells TCP that the IP MTU of one family's network layer is now
// mtu: fam is any address of that family (inet.AnyIPv4 for IPv4's
// stack.Stack.SetMTU, a DHCP lease's interface MTU; inet.IPv6Unspecified
// for IPv6's link MTU, an RA's MTU option). It runs with the stack lock
// held.
//
// New connections of the family advertise, and send at most, an MSS of
// mtu less the IP and TCP headers (capped by Config.MSS). Established connections of the family keep the
// MSS they negotiated, unless it no longer fits: then their send MSS is
// lowered to mtu less the IP and TCP headers (40 for IPv4, 60 for IPv6)
// as for a smaller path MTU (RFC 1191, RFC 8201), since IP refuses DF
// segments larger than its MTU; later segments and retransmissions are
// sized by it. A larger mtu never raises an existing connection's MSS.
func (l *Layer) SetMTULocked(fam inet.Addr, mtu int) {
	m := max(mtu-transport.NetworkHeaderLen(fam)-HeaderLen, MSSFloor)
	if fam.Is4() {
		l.mss = min(l.cfg.MSS, m)
	} else {
		l.mss6 = min(l.cfg.MSS, m)
	}
	for _, c := range l.conns {
		if c.id.raddr.Is4() == fam.Is4() && int(c.mss) > m {
			c.mss = uint16(m)
		}
	}
}
