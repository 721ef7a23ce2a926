// virtio-mmio transport: probe, reset, feature negotiation, queue set-up,
// notification and interrupt acknowledgement (virtio 1.1 §3.1.1, §4.2.3).

package virtio

import (
	"errors"
	"strconv"
)

// Errors reported while bringing a device up.
var (
	ErrNotVirtio       = errors.New("virtio: no virtio-mmio transport (bad magic)")
	ErrLegacy          = errors.New("virtio: not a virtio 1.x transport (version register is not 2)")
	ErrNoDevice        = errors.New("virtio: empty virtio-mmio slot (device id 0)")
	ErrFeaturesRefused = errors.New("virtio: device refused FEATURES_OK")
	ErrNoQueue         = errors.New("virtio: queue not available")
	ErrResetTimeout    = errors.New("virtio: device did not complete reset")
)

// detailError is err with detail appended to its message, like
// fmt.Errorf("%w"+detail, err): it unwraps to err.
type detailError struct {
	err    error
	detail string
}

func (e *detailError) Error() string { return e.err.Error() + e.detail }
func (e *detailError) Unwrap() error { return e.err }

// Transport is one virtio-mmio device window (virtio 1.1 §4.2).
type Transport struct {
	regs Regs
	// DeviceID is the device type read at probe (RegDeviceID).
	DeviceID uint32
	// Features is the feature set accepted by Negotiate.
	Features uint64
}

// Probe checks the magic value and version and reads the device ID
// (virtio 1.1 §4.2.3.1.1). It returns ErrNoDevice for an empty slot.
func Probe(r Regs) (*Transport, error) {
	if r.Read32(RegMagic) != MagicValue {
		return nil, ErrNotVirtio
	}
	if v := r.Read32(RegVersion); v != VersionModern {
		return nil, &detailError{ErrLegacy, " (version " + strconv.FormatUint(uint64(v), 10) + ")"}
	}
	id := r.Read32(RegDeviceID)
	if id == 0 {
		return nil, ErrNoDevice
	}
	return &Transport{regs: r, DeviceID: id}, nil
}

// Reset writes 0 to Status (virtio 1.1 §2.4, §4.2.2 Status) and waits,
// boundedly, for it to read back 0.
func (t *Transport) Reset() error {
	t.regs.Write32(RegStatus, 0)
	for range 1000 {
		if t.regs.Read32(RegStatus) == 0 {
			return nil
		}
	}
	return ErrResetTimeout
}

// Status returns the device status register.
func (t *Transport) Status() uint32 { return t.regs.Read32(RegStatus) }

func (t *Transport) setStatus(bits uint32) {
	t.regs.Write32(RegStatus, t.regs.Read32(RegStatus)|bits)
}

// Fail sets FAILED (virtio 1.1 §3.1.1): the driver gave up on the device.
func (t *Transport) Fail() { t.setStatus(StatusFailed) }

// Negotiate runs steps 1-6 of device initialisation (virtio 1.1 §3.1.1):
// reset, ACKNOWLEDGE, DRIVER, feature negotiation and FEATURES_OK. It
// accepts the features in want that the device offers and fails if any of
// required is missing or the device does not keep FEATURES_OK set.
func (t *Transport) Negotiate(want, required uint64) error {
	return t.NegotiateFunc(func(offered uint64) uint64 { return offered & want }, required)
}

// NegotiateFunc is Negotiate with the accepted features chosen by choose
// from those the device offers, for drivers whose features depend on one
// another. choose must return a subset of offered.
func (t *Transport) NegotiateFunc(choose func(offered uint64) uint64, required uint64) error {
	if err := t.Reset(); err != nil {
		return err
	}
	t.setStatus(StatusAcknowledge)
	t.setStatus(StatusDriver)

	t.regs.Write32(RegDeviceFeaturesSel, 0)
	offered := uint64(t.regs.Read32(RegDeviceFeatures))
	t.regs.Write32(RegDeviceFeaturesSel, 1)
	offered |= uint64(t.regs.Read32(RegDeviceFeatures)) << 32

	accepted := choose(offered) & offered
	if missing := required &^ accepted; missing != 0 {
		t.Fail()
		return errors.New("virtio: device lacks required features 0x" + strconv.FormatUint(missing, 16))
	}
	t.regs.Write32(RegDriverFeaturesSel, 0)
	t.regs.Write32(RegDriverFeatures, uint32(accepted))
	t.regs.Write32(RegDriverFeaturesSel, 1)
	t.regs.Write32(RegDriverFeatures, uint32(accepted>>32))

	t.setStatus(StatusFeaturesOK)
	if t.regs.Read32(RegStatus)&StatusFeaturesOK == 0 {
		t.Fail()
		return ErrFeaturesRefused
	}
	t.Features = accepted
	return nil
}

// QueueMax returns the largest size the device supports for queue q, or 0
// if the queue does not exist.
func (t *Transport) QueueMax(q uint32) uint32 {
	t.regs.Write32(RegQueueSel, q)
	if t.regs.Read32(RegQueueReady) != 0 {
		return 0 // already in use: not ours to set up
	}
	return t.regs.Read32(RegQueueNumMax)
}

// SetupQueue tells the device where queue q's rings are and enables it
// (virtio 1.1 §4.2.3.2).
func (t *Transport) SetupQueue(q uint32, r *ring) error {
	max := t.QueueMax(q)
	if max == 0 || uint32(r.size) > max {
		return &detailError{ErrNoQueue, ": queue " + strconv.FormatUint(uint64(q), 10) + " (max " + strconv.FormatUint(uint64(max), 10) + ")"}
	}
	t.regs.Write32(RegQueueNum, uint32(r.size))
	t.write64(RegQueueDescLow, r.descBus)
	t.write64(RegQueueDriverLow, r.availBus)
	t.write64(RegQueueDeviceLow, r.usedBus)
	t.regs.Write32(RegQueueReady, 1)
	return nil
}

func (t *Transport) write64(low uint32, v uint64) {
	t.regs.Write32(low, uint32(v))
	t.regs.Write32(low+4, uint32(v>>32))
}

// DriverOK sets DRIVER_OK: the device is live (virtio 1.1 §3.1.1 step 8).
func (t *Transport) DriverOK() { t.setStatus(StatusDriverOK) }

// Notify tells the device that queue q has new available buffers
// (virtio 1.1 §4.2.3.3).
func (t *Transport) Notify(q uint32) { t.regs.Write32(RegQueueNotify, q) }

// AckInterrupt reads InterruptStatus and acknowledges every bit that was
// set, which de-asserts the interrupt line (virtio 1.1 §4.2.3.4).
func (t *Transport) AckInterrupt() uint32 {
	s := t.regs.Read32(RegInterruptStatus)
	if s != 0 {
		t.regs.Write32(RegInterruptACK, s)
	}
	return s
}

// Config32 reads the aligned 32-bit word at off in the configuration space,
// retrying while ConfigGeneration changes (virtio 1.1 §4.2.3.1.1 and
// §2.5) so the value is consistent.
func (t *Transport) Config32(off uint32) uint32 {
	var v uint32
	for range 8 {
		g := t.regs.Read32(RegConfigGeneration)
		v = t.regs.Read32(RegConfig + off&^3)
		if t.regs.Read32(RegConfigGeneration) == g {
			break
		}
	}
	return v
}

// configBytes copies n bytes of configuration space starting at off.
func (t *Transport) configBytes(off uint32, dst []byte) {
	for i := range dst {
		o := off + uint32(i)
		dst[i] = byte(t.Config32(o) >> (8 * (o & 3)))
	}
}

// config16 reads the little-endian 16-bit field at off (2-aligned).
func (t *Transport) config16(off uint32) uint16 {
	return uint16(t.Config32(off) >> (8 * (off & 2)))
}
