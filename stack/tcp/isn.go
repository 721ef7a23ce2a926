package tcp

import (
	"encoding/binary"
	"time"

	"github.com/mirago/mirago/stack/internal/siphash"
)

// keyedHash is F(key, 4-tuple, a, b): SipHash-2-4 (Aumasson & Bernstein
// 2012; stack/internal/siphash) truncated to 32 bits, the keyed PRF Linux
// uses for the same jobs. It is the keyed hash of RFC 6528 §3, RFC 6056
// §3.3.3, SYN cookies and timestamp offsets. An IPv4 tuple is hashed over
// its 4-byte addresses, an IPv6 one over its 16-byte addresses. It does
// not allocate.
func keyedHash(key *[16]byte, id tuple, a, b uint32) uint32 {
	var in [44]byte
	la, ra := id.laddr.As16(), id.raddr.As16()
	from := 0
	if id.laddr.Is4() && id.raddr.Is4() {
		from = 12 // the IPv4 addresses
	}
	n := copy(in[:], la[from:])
	n += copy(in[n:], ra[from:])
	binary.BigEndian.PutUint16(in[n:], id.lport)
	binary.BigEndian.PutUint16(in[n+2:], id.rport)
	binary.BigEndian.PutUint32(in[n+4:], a)
	binary.BigEndian.PutUint32(in[n+8:], b)
	return uint32(siphash.Sum64(key, in[:n+12]))
}

// newISN is RFC 6528 §3: ISN = M + F(localip, localport, remoteip,
// remoteport, secretkey), M a 4µs clock.
func (l *Layer) newISN(id tuple) uint32 {
	m := uint32(l.q.Now().UnixNano() / int64(4*time.Microsecond))
	return m + keyedHash(&l.isnKey, id, 0, 0)
}

// tsOffset is the per-connection timestamp offset (RFC 7323 §5.4), so
// TSval does not leak uptime and differs between connections.
func (l *Layer) tsOffset(id tuple) uint32 { return keyedHash(&l.tsKey, id, 1, 0) }

// tsNow is our timestamp clock in milliseconds (RFC 7323 §5.4: 1ms-1s).
func (l *Layer) tsNow() uint32 { return uint32(l.now() / time.Millisecond) }
