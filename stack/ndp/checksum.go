package ndp

import (
	"encoding/binary"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
)

// SetChecksum stores the ICMPv6 checksum of message m sent from src to
// dst: over the IPv6 pseudo-header and m (RFC 4443 §2.3).
func SetChecksum(m []byte, src, dst inet.Addr) {
	m[2], m[3] = 0, 0
	binary.BigEndian.PutUint16(m[2:], checksum.Checksum(m, checksum.Pseudo(src, dst, inet.ProtoICMPv6, len(m))))
}

// ValidChecksum reports whether m's ICMPv6 checksum is right for a
// message from src to dst. The ICMPv6 layer checks it before handing
// messages to ND; tests and tools use this.
func ValidChecksum(m []byte, src, dst inet.Addr) bool {
	return checksum.Fold(checksum.Sum(m, checksum.Pseudo(src, dst, inet.ProtoICMPv6, len(m)))) == 0xffff
}
