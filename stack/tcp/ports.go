package tcp

import (
	"io"
	"math/rand/v2"
	"time"
)

// pickPort chooses an ephemeral local port for a connection to
// raddr:rport from laddr, RFC 6056 §3.3.3 (algorithm 3, double-hash
// without the table): offset = F(laddr, raddr, rport, secret), probing
// from offset + next_ephemeral. next_ephemeral starts random and advances
// by a random step (algorithm 5), so ports to one destination are not
// sequential.
//
// A port whose 4-tuple is held by a connection in TIME_WAIT is taken over
// when that is safe (see twReusable), as Linux does with tcp_tw_reuse:
// otherwise an active closer runs out of ports to one destination after
// 16k connections a minute. The old connection is closed and the new one
// starts its sequence space above the old one's (newConn).
func (l *Layer) pickPort(id tuple) (uint16, bool) {
	lo, hi := uint32(l.cfg.EphemeralLow), uint32(l.cfg.EphemeralHigh)
	num := hi - lo + 1
	k := id
	k.lport = 0
	offset := keyedHash(&l.portKey, k, 2, 0)
	for i := uint32(0); i < num; i++ {
		port := uint16(lo + (offset+l.portNext+i)%num)
		id.lport = port
		old, used := l.conns[id]
		if used && !l.twReusable(old) {
			continue
		}
		if l.listeners[port].used() {
			continue
		}
		if used {
			l.reuse, l.reuseISS = id, old.sndMax+65535+2
			old.finish(nil)
		}
		// RFC 6056 §3.3.5 (algorithm 5): advance by a random step, so
		// successive ports to one destination do not differ by a
		// constant that an off-path attacker could predict.
		l.portNext += i + 1 + l.portStep()
		return port, true
	}
	return 0, false
}

// twReusable reports whether TIME_WAIT connection c may give its 4-tuple
// to a new outgoing connection (Linux tcp_twsk_unique): it was closed by
// the user, it used timestamps, and it has heard nothing for a second. The
// new connection's TSval (same per-tuple offset, a clock a second later)
// is then newer than anything the old one sent, so the peer's PAWS (RFC
// 7323 §5) rejects old duplicates, and its ISN lies above the old sequence
// space (RFC 6191).
func (l *Layer) twReusable(c *Conn) bool {
	return c.state == TimeWait && c.f&(fTS|fUserClosed) == fTS|fUserClosed &&
		l.now()-c.lastRecv >= time.Second
}

// portStep returns a random step in [0, 500) (RFC 6056 §3.3.5 suggests
// N = 500), from a ChaCha8 stream seeded once from the injected randomness.
func (l *Layer) portStep() uint32 {
	if l.portRand == nil {
		var seed [32]byte
		io.ReadFull(l.rnd, seed[:])
		l.portRand = rand.NewChaCha8(seed)
	}
	return uint32(l.portRand.Uint64() % 500)
}
