package ndp

import (
	"encoding/binary"

	"github.com/mirago/mirago/stack/internal/siphash"
)

// stableIID is RFC 7217 §5's interface identifier for the /64 prefix:
// RID = F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key), with
// F SipHash-2-4 (the keyed PRF the stack uses for TCP's secrets; RFC
// 7217 §5 asks for a PRF such as a keyed hash), Net_Iface our MAC, no
// Network_ID, and the 64-bit result the identifier. An identifier RFC
// 5453 reserves is skipped by counting DAD_Counter up (§5); the counter
// used is returned. The same prefix, MAC, counter and secret always give
// the same identifier; anything else, an unrelated one.
func (l *Layer) stableIID(prefix [8]byte, counter uint8) ([8]byte, uint8) {
	var in [8 + 6 + 1]byte
	copy(in[:8], prefix[:])
	copy(in[8:14], l.mac[:])
	var iid [8]byte
	for range 16 {
		in[14] = counter
		binary.BigEndian.PutUint64(iid[:], siphash.Sum64(&l.cfg.StableSecret, in[:]))
		if !reservedIID(iid) {
			break
		}
		counter++
	}
	return iid, counter
}
