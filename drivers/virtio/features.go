// Feature bits and network configuration layout (virtio 1.1 §5.1.3, §5.1.4).

package virtio

import (
	"errors"
	"strconv"
	"strings"
)

// Feature bits used by this package.
const (
	// FeatureVersion1 marks a virtio 1.x device (virtio 1.1 §6).
	FeatureVersion1 uint64 = 1 << 32
	// FeatureEventIdx is VIRTIO_F_RING_EVENT_IDX: each side says, by ring
	// index, when it next wants to be notified (§2.7.7, §2.7.10), which
	// suppresses most notifications and interrupts.
	FeatureEventIdx uint64 = 1 << 29

	// Network device feature bits (virtio 1.1 §5.1.3).
	FeatureNetCsum      uint64 = 1 << 0  // device completes partial checksums we send
	FeatureNetGuestCsum uint64 = 1 << 1  // device may hand us partial or verified checksums
	FeatureNetMTU       uint64 = 1 << 3  // config mtu is valid
	FeatureNetMAC       uint64 = 1 << 5  // config mac is valid
	FeatureNetGuestTSO4 uint64 = 1 << 7  // device may hand us merged TCP/IPv4 segments
	FeatureNetGuestTSO6 uint64 = 1 << 8  // the same for IPv6
	FeatureNetHostTSO4  uint64 = 1 << 11 // device segments TCP/IPv4 we send
	FeatureNetHostTSO6  uint64 = 1 << 12 // the same for IPv6
	FeatureNetMrgRxbuf  uint64 = 1 << 15 // a received frame may span several buffers
	FeatureNetStatus    uint64 = 1 << 16 // config status is valid

	// NetOffloadFeatures are the offload features NewNet negotiates when
	// the device offers them; NetConfig.Disable turns any of them off.
	NetOffloadFeatures = FeatureNetCsum | FeatureNetGuestCsum | FeatureNetHostTSO4 | FeatureNetHostTSO6 |
		FeatureNetGuestTSO4 | FeatureNetGuestTSO6 | FeatureNetMrgRxbuf | FeatureEventIdx
)

// netFeatures closes a set of offered network features under the
// dependencies of virtio 1.1 §5.1.3.1: TSO needs the matching checksum
// offload, and large receive needs mergeable receive buffers, since this
// driver does not post 64 KiB receive buffers ("big packets").
func netFeatures(f uint64) uint64 {
	if f&FeatureNetCsum == 0 {
		f &^= FeatureNetHostTSO4 | FeatureNetHostTSO6
	}
	if f&FeatureNetGuestCsum == 0 || f&FeatureNetMrgRxbuf == 0 {
		f &^= FeatureNetGuestTSO4 | FeatureNetGuestTSO6
	}
	return f
}

// Network device configuration layout (virtio 1.1 §5.1.4).
const (
	netCfgMAC    = 0  // u8 mac[6]
	netCfgStatus = 6  // le16 status
	netCfgMTU    = 10 // le16 mtu

	netStatusLinkUp = 1 // VIRTIO_NET_S_LINK_UP
)

// struct virtio_net_hdr (virtio 1.1 §5.1.6): flags, gso_type, hdr_len,
// gso_size, csum_start, csum_offset, num_buffers; little-endian.
const (
	hdrFlags      = 0
	hdrGSOType    = 1
	hdrHdrLen     = 2
	hdrGSOSize    = 4
	hdrCsumStart  = 6
	hdrCsumOffset = 8
	hdrNumBuffers = 10

	hdrFNeedsCsum = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM
	hdrFDataValid = 2 // VIRTIO_NET_HDR_F_DATA_VALID

	gsoNone  = 0    // VIRTIO_NET_HDR_GSO_NONE
	gsoTCPv4 = 1    // VIRTIO_NET_HDR_GSO_TCPV4
	gsoTCPv6 = 4    // VIRTIO_NET_HDR_GSO_TCPV6
	gsoECN   = 0x80 // VIRTIO_NET_HDR_GSO_ECN
)

// netFeatureNames names the offload features as QEMU's virtio-net device
// properties do, for NetConfig.Disable from a build setting and for the
// console.
var netFeatureNames = [...]struct {
	bit  uint64
	name string
}{
	{FeatureNetCsum, "csum"},
	{FeatureNetGuestCsum, "guest_csum"},
	{FeatureNetHostTSO4, "host_tso4"},
	{FeatureNetHostTSO6, "host_tso6"},
	{FeatureNetGuestTSO4, "guest_tso4"},
	{FeatureNetGuestTSO6, "guest_tso6"},
	{FeatureNetMrgRxbuf, "mrg_rxbuf"},
	{FeatureEventIdx, "event_idx"},
}

// ParseOffloads turns a comma-separated list of offload feature names
// (csum, guest_csum, host_tso4, host_tso6, guest_tso4, guest_tso6,
// mrg_rxbuf, event_idx) into their bits; "all" is NetOffloadFeatures and
// "" none. The images' NOOFFLOAD build setting goes through it into
// NetConfig.Disable.
func ParseOffloads(s string) (uint64, error) {
	var f uint64
	for len(s) > 0 {
		name := s
		if i := strings.IndexByte(s, ','); i >= 0 {
			name, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if name == "all" {
			f |= NetOffloadFeatures
			continue
		}
		known := false
		for _, n := range netFeatureNames {
			if n.name == name {
				f, known = f|n.bit, true
			}
		}
		if !known {
			return 0, errors.New("virtio: unknown offload " + strconv.Quote(name) + " (want all, or some of csum, guest_csum, host_tso4, host_tso6, guest_tso4, guest_tso6, mrg_rxbuf, event_idx)")
		}
	}
	return f, nil
}

// OffloadNames lists the offload features set in f, comma-separated, in
// the order of ParseOffloads's names ("none" when there are none).
func OffloadNames(f uint64) string {
	s := ""
	for _, n := range netFeatureNames {
		if f&n.bit != 0 {
			if s != "" {
				s += ","
			}
			s += n.name
		}
	}
	if s == "" {
		return "none"
	}
	return s
}
