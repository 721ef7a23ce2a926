// Feature bits and network configuration layout (virtio 1.1 §5.1.3, §5.1.4).

package virtio

// Feature bits used by this package.
const (
	// FeatureVersion1 marks a virtio 1.x device (virtio 1.1 §6).
	FeatureVersion1 uint64 = 1 << 32

	// Network device feature bits (virtio 1.1 §5.1.3).
	FeatureNetMTU    uint64 = 1 << 3  // config mtu is valid
	FeatureNetMAC    uint64 = 1 << 5  // config mac is valid
	FeatureNetStatus uint64 = 1 << 16 // config status is valid
)

// Network device configuration layout (virtio 1.1 §5.1.4).
const (
	netCfgMAC    = 0  // u8 mac[6]
	netCfgStatus = 6  // le16 status
	netCfgMTU    = 10 // le16 mtu

	netStatusLinkUp = 1 // VIRTIO_NET_S_LINK_UP
)
