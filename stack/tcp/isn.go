package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// keyedHash is F(key, 4-tuple, a, b): SHA-256 truncated to 32 bits. It is
// the keyed hash of RFC 6528 §3, RFC 6056 §3.3.3, SYN cookies and
// timestamp offsets. It does not allocate.
func keyedHash(key *[16]byte, id tuple, a, b uint32) uint32 {
	var in [40]byte
	copy(in[:16], key[:])
	copy(in[16:20], id.laddr[:])
	copy(in[20:24], id.raddr[:])
	binary.BigEndian.PutUint16(in[24:], id.lport)
	binary.BigEndian.PutUint16(in[26:], id.rport)
	binary.BigEndian.PutUint32(in[28:], a)
	binary.BigEndian.PutUint32(in[32:], b)
	sum := sha256.Sum256(in[:])
	return binary.BigEndian.Uint32(sum[:])
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
