package tcp

// pickPort chooses an ephemeral local port for a connection to
// raddr:rport from laddr, RFC 6056 §3.3.3 (algorithm 3, double-hash
// without the table): offset = F(laddr, raddr, rport, secret), probing
// from offset + next_ephemeral. next_ephemeral starts random.
func (l *Layer) pickPort(id tuple) (uint16, bool) {
	lo, hi := uint32(l.cfg.EphemeralLow), uint32(l.cfg.EphemeralHigh)
	num := hi - lo + 1
	k := id
	k.lport = 0
	offset := keyedHash(&l.portKey, k, 2, 0)
	for i := uint32(0); i < num; i++ {
		port := uint16(lo + (offset+l.portNext+i)%num)
		id.lport = port
		if _, used := l.conns[id]; used {
			continue
		}
		if _, used := l.listeners[port]; used {
			continue
		}
		l.portNext += i + 1
		return port, true
	}
	return 0, false
}
