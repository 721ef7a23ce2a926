// Device model: the virtio-mmio register window.

package virtiomodel

import (
	"encoding/binary"

	"github.com/mirago/mirago/drivers/virtio"
)

// Device is a virtio-mmio register window with up to four queues. It
// implements virtio.Regs. It is not safe for concurrent use: tests drive
// the driver and the model from one goroutine.
type Device struct {
	Mem *Mem
	// ID is the device type (virtio.DeviceNet, virtio.DeviceEntropy).
	ID uint32
	// Version is the version register (2 unless a test says otherwise).
	Version uint32
	// Features is what the device offers.
	Features uint64
	// RefuseFeaturesOK makes the device clear FEATURES_OK when set.
	RefuseFeaturesOK bool
	// QueueMax is QueueNumMax for every existing queue.
	QueueMax uint32
	// NumQueues is how many queues exist.
	NumQueues int
	// Config is the device configuration space.
	Config [64]byte
	// OnNotify, if set, runs when the driver writes QueueNotify.
	OnNotify func(q int)

	// Notifies counts QueueNotify writes per queue.
	Notifies [4]int
	// Interrupts counts used-buffer interrupts raised per queue, as
	// VIRTQ_AVAIL_F_NO_INTERRUPT or, with event index, used_event allow.
	Interrupts [4]int
	// DriverFeatures is what the driver accepted.
	DriverFeatures uint64

	status     uint32
	devSel     uint32
	drvSel     uint32
	queueSel   uint32
	isr        uint32
	generation uint32
	Queues     [4]Queue

	// Receive scratch (ReceiveHdr), so that it does not allocate.
	rxIDs  [64]uint16
	rxLens [64]uint32
	rxHdr  []byte
}

// Queue is the device's view of one virtqueue.
type Queue struct {
	Num                  uint32
	Ready                bool
	Desc, Driver, Device uint64
	lastAvail            uint16 // next avail entry to consume
	usedIdx              uint16 // next used entry to publish
	unpublished          uint16 // entries written after usedIdx, not yet published
}

// New returns a device of the given type over mem, offering features.
func New(mem *Mem, id uint32, features uint64) *Device {
	return &Device{Mem: mem, ID: id, Version: 2, Features: features, QueueMax: 256, NumQueues: 2}
}

// Status is the device status register.
func (d *Device) Status() uint32 { return d.status }

// InterruptStatus is the pending interrupt bits.
func (d *Device) InterruptStatus() uint32 { return d.isr }

// SetConfigChanged bumps the configuration generation and raises the
// configuration-change interrupt.
func (d *Device) SetConfigChanged() {
	d.generation++
	d.isr |= virtio.IntConfigChanged
}

// Read32 implements virtio.Regs.
func (d *Device) Read32(off uint32) uint32 {
	q := d.sel()
	switch {
	case off >= virtio.RegConfig && off+4 <= virtio.RegConfig+uint32(len(d.Config)):
		return binary.LittleEndian.Uint32(d.Config[off-virtio.RegConfig:])
	case off == virtio.RegMagic:
		return virtio.MagicValue
	case off == virtio.RegVersion:
		return d.Version
	case off == virtio.RegDeviceID:
		return d.ID
	case off == virtio.RegVendorID:
		return 0x554d4551 // "QEMU"
	case off == virtio.RegDeviceFeatures:
		if d.devSel > 1 {
			return 0
		}
		return uint32(d.Features >> (32 * d.devSel))
	case off == virtio.RegQueueNumMax:
		if q == nil {
			return 0
		}
		return d.QueueMax
	case off == virtio.RegQueueReady:
		if q != nil && q.Ready {
			return 1
		}
		return 0
	case off == virtio.RegInterruptStatus:
		return d.isr
	case off == virtio.RegStatus:
		return d.status
	case off == virtio.RegConfigGeneration:
		return d.generation
	}
	return 0
}

// Write32 implements virtio.Regs.
func (d *Device) Write32(off, v uint32) {
	q := d.sel()
	if q == nil {
		q = new(Queue) // writes to a missing queue go nowhere
	}
	switch off {
	case virtio.RegDeviceFeaturesSel:
		d.devSel = v
	case virtio.RegDriverFeaturesSel:
		d.drvSel = v
	case virtio.RegDriverFeatures:
		if d.drvSel <= 1 {
			shift := 32 * d.drvSel
			d.DriverFeatures = d.DriverFeatures&^(0xffffffff<<shift) | uint64(v)<<shift
		}
	case virtio.RegQueueSel:
		d.queueSel = v
	case virtio.RegQueueNum:
		q.Num = v
	case virtio.RegQueueReady:
		q.Ready = v == 1
	case virtio.RegQueueDescLow, virtio.RegQueueDescHigh:
		setHalf(&q.Desc, off-virtio.RegQueueDescLow, v)
	case virtio.RegQueueDriverLow, virtio.RegQueueDriverHigh:
		setHalf(&q.Driver, off-virtio.RegQueueDriverLow, v)
	case virtio.RegQueueDeviceLow, virtio.RegQueueDeviceHigh:
		setHalf(&q.Device, off-virtio.RegQueueDeviceLow, v)
	case virtio.RegQueueNotify:
		if int(v) < len(d.Notifies) {
			d.Notifies[v]++
		}
		if d.OnNotify != nil {
			d.OnNotify(int(v))
		}
	case virtio.RegInterruptACK:
		d.isr &^= v
	case virtio.RegStatus:
		d.writeStatus(v)
	}
}

func (d *Device) writeStatus(v uint32) {
	if v == 0 { // reset (§4.2.2 Status)
		d.status, d.isr, d.DriverFeatures = 0, 0, 0
		d.Queues = [4]Queue{}
		return
	}
	if v&virtio.StatusFeaturesOK != 0 && d.status&virtio.StatusFeaturesOK == 0 {
		if d.RefuseFeaturesOK || d.DriverFeatures&^d.Features != 0 {
			v &^= virtio.StatusFeaturesOK
		}
	}
	d.status = v
}

func (d *Device) sel() *Queue {
	if int(d.queueSel) >= d.NumQueues {
		return nil
	}
	return &d.Queues[d.queueSel]
}

func setHalf(p *uint64, half, v uint32) {
	if half == 0 {
		*p = *p&^0xffffffff | uint64(v)
	} else {
		*p = *p&0xffffffff | uint64(v)<<32
	}
}
