// virtio-mmio register access and layout (virtio 1.1 §4.2.2), status bits (§2.1).

package virtio

// Regs is access to one virtio-mmio register window. Offsets are relative to
// the transport's base address. Implementations must perform exactly one
// 32-bit access per call, in program order.
type Regs interface {
	Read32(off uint32) uint32
	Write32(off, v uint32)
}

// virtio-mmio register layout (virtio 1.1 §4.2.2, Table "MMIO Device
// Register Layout").
const (
	RegMagic             = 0x000 // "virt", 0x74726976
	RegVersion           = 0x004 // 2 for virtio 1.x (non-legacy)
	RegDeviceID          = 0x008 // §5: 1 network, 4 entropy
	RegVendorID          = 0x00c
	RegDeviceFeatures    = 0x010
	RegDeviceFeaturesSel = 0x014
	RegDriverFeatures    = 0x020
	RegDriverFeaturesSel = 0x024
	RegQueueSel          = 0x030
	RegQueueNumMax       = 0x034
	RegQueueNum          = 0x038
	RegQueueReady        = 0x044
	RegQueueNotify       = 0x050
	RegInterruptStatus   = 0x060
	RegInterruptACK      = 0x064
	RegStatus            = 0x070
	RegQueueDescLow      = 0x080
	RegQueueDescHigh     = 0x084
	RegQueueDriverLow    = 0x090 // the available ring
	RegQueueDriverHigh   = 0x094
	RegQueueDeviceLow    = 0x0a0 // the used ring
	RegQueueDeviceHigh   = 0x0a4
	RegConfigGeneration  = 0x0fc
	RegConfig            = 0x100 // device-specific configuration space

	// MagicValue is the little-endian "virt" in RegMagic.
	MagicValue = 0x74726976
	// VersionModern is RegVersion for a virtio 1.x device.
	VersionModern = 2
)

// Device IDs (virtio 1.1 §5, Table "Device Types").
const (
	DeviceNet     = 1
	DeviceEntropy = 4
)

// Device status bits (virtio 1.1 §2.1).
const (
	StatusAcknowledge      = 1
	StatusDriver           = 2
	StatusDriverOK         = 4
	StatusFeaturesOK       = 8
	StatusDeviceNeedsReset = 64
	StatusFailed           = 128
)

// InterruptStatus bits (virtio 1.1 §4.2.2, InterruptStatus).
const (
	IntUsedBuffer    = 1 // a used ring was updated
	IntConfigChanged = 2 // the configuration space changed
)
