package tcp

// SetMTULocked tells TCP that the IP MTU is now mtu (stack.Stack.SetMTULocked, e.g. a
// DHCP lease's interface MTU). It runs with the stack lock held.
//
// New connections advertise, and send at most, an MSS of mtu-40 (capped by
// Config.MSS). Established connections keep the MSS they negotiated, unless
// it no longer fits: then their send MSS is lowered to mtu-40 as for a
// smaller path MTU (RFC 1191), since IP refuses DF segments larger than
// its MTU; later segments and retransmissions are sized by it. A larger
// mtu never raises an existing connection's MSS.
func (l *Layer) SetMTULocked(mtu int) {
	m := max(mtu-40, MSSFloor)
	l.mss = min(l.cfg.MSS, m)
	for _, c := range l.conns {
		if int(c.mss) > m {
			c.mss = uint16(m)
		}
	}
}
