package usbarmory

import "github.com/mirago/mirago/stack/inet"

// The ENET2 MAC address from the i.MX6UL on-chip fuses.

// OCOTP fuse words holding the MAC addresses (35.5, OCOTP memory map,
// OCOTP_MAC0/OCOTP_MAC1/OCOTP_MAC at 0x620/0x630/0x640, bank 4 words 2-4,
// IMX6ULRM). ENET1 takes MAC0 and the low half of MAC1; ENET2 takes the
// high half of MAC1 and MAC, as NXP's U-Boot reads them. The USB armory
// Mk II stores its model in the top byte of MAC0, so ENET1's fuses are not
// a MAC there; ENET2's are the only candidates.
const (
	fuseBankMAC  = 4
	fuseWordMAC1 = 3
	fuseWordMAC2 = 4
)

// enet2FuseMAC decodes ENET2's address from the OCOTP_MAC1 and OCOTP_MAC
// words: bytes 0-3 are MAC (big-endian), bytes 4-5 the top half of MAC1.
func enet2FuseMAC(mac1, mac2 uint32) inet.MAC {
	return inet.MAC{
		byte(mac2 >> 24), byte(mac2 >> 16), byte(mac2 >> 8), byte(mac2),
		byte(mac1 >> 24), byte(mac1 >> 16),
	}
}

// usableMAC reports whether m can be a station address: set, not group.
func usableMAC(m inet.MAC) bool {
	return !m.IsZero() && !m.IsMulticast()
}
