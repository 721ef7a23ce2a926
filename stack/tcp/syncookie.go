package tcp

import "time"

// SYN cookies (RFC 4987 §3.6). When a listener's half-open table or accept
// queue is full, the SYN-ACK's ISN encodes the connection instead of
// keeping state:
//
//	bits 31-27  t: 64-second counter, mod 32 (valid: now or one before)
//	bits 26-24  index of the peer's MSS in cookieMSS
//	bits 23-0   F(secret, 4-tuple, peer ISN, t<<3|index)
//
// If the peer sent timestamps, the low 5 bits of our TSval carry its
// window scale (0-14, 15 = none) and SACK-permitted, as Linux does, and
// come back in TSecr.

var cookieMSS = [8]uint16{536, 1200, 1300, 1380, 1440, 1460, 4312, 8960}

const cookiePeriod = 64 * time.Second

func (l *Layer) cookieT() uint32 { return uint32(l.now()/cookiePeriod) & 31 }

func (l *Layer) makeCookie(id tuple, peerISN uint32, mss uint16) (uint32, uint16) {
	idx := 0
	for i, m := range cookieMSS {
		if m <= mss {
			idx = i
		}
	}
	t := l.cookieT()
	tag := t<<3 | uint32(idx)
	h := keyedHash(&l.cookieKey, id, peerISN, tag) & 0xffffff
	return tag<<24 | h, cookieMSS[idx]
}

// checkCookie validates the ACK of a cookie SYN-ACK and returns the MSS.
func (l *Layer) checkCookie(id tuple, peerISN, cookie uint32) (uint16, bool) {
	tag := cookie >> 24
	t := tag >> 3
	now := l.cookieT()
	if t != now && t != (now-1)&31 {
		return 0, false
	}
	if keyedHash(&l.cookieKey, id, peerISN, tag)&0xffffff != cookie&0xffffff {
		return 0, false
	}
	return cookieMSS[tag&7], true
}

// cookieTS encodes window scale and SACK-permitted into a TSval.
func cookieTS(ts uint32, ws int, sack bool) uint32 {
	v := uint32(15)
	if ws >= 0 {
		v = uint32(ws)
	}
	if sack {
		v |= 16
	}
	return ts&^31 | v
}

// cookieTSDecode reverses cookieTS (ws -1: none).
func cookieTSDecode(ecr uint32) (ws int, sack bool) {
	ws = int(ecr & 15)
	if ws == 15 {
		ws = -1
	}
	return min(ws, maxWScale), ecr&16 != 0
}
