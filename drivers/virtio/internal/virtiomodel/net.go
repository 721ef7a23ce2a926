// Device model: network device behaviour (virtio 1.1 §5.1).

package virtiomodel

import (
	"encoding/binary"
	"errors"

	"github.com/mirago/mirago/drivers/virtio"
)

// Network device queues and header (virtio 1.1 §5.1.2, §5.1.6).
const (
	RxQueue = 0
	TxQueue = 1
	hdrLen  = virtio.NetHeaderLen
)

// NewNet returns a network device with MAC 52:54:00:12:34:56, link up, and
// the features QEMU offers that the driver cares about (VERSION_1, MAC,
// STATUS, MTU 1500).
func NewNet(mem *Mem) *Device {
	d := New(mem, virtio.DeviceNet, virtio.FeatureVersion1|virtio.FeatureNetMAC|virtio.FeatureNetStatus|virtio.FeatureNetMTU)
	copy(d.Config[0:], []byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56})
	d.SetLink(true)
	binary.LittleEndian.PutUint16(d.Config[10:], 1500)
	return d
}

// SetLink sets VIRTIO_NET_S_LINK_UP in config status and raises the
// configuration-change interrupt (§5.1.4).
func (d *Device) SetLink(up bool) {
	var s uint16
	if up {
		s = 1
	}
	binary.LittleEndian.PutUint16(d.Config[6:], s)
	d.SetConfigChanged()
}

// Receive delivers frame to the driver: it takes the next receive buffer,
// writes a virtio-net header (num_buffers = 1) and the frame, and returns
// the buffer as used.
func (d *Device) Receive(frame []byte) error {
	id, b, writable, err := d.PopOne(RxQueue)
	if err != nil {
		return err
	}
	if !writable {
		return errors.New("virtiomodel: receive buffer is not writable")
	}
	if len(b) < hdrLen+len(frame) {
		return errors.New("virtiomodel: receive buffer too small")
	}
	clear(b[:hdrLen])
	binary.LittleEndian.PutUint16(b[10:], 1) // num_buffers
	copy(b[hdrLen:], frame)
	return d.PushUsed(RxQueue, uint32(id), uint32(hdrLen+len(frame)))
}

// TxFrame is one frame the driver sent, header stripped.
type TxFrame struct {
	ID     uint16
	Header []byte
	Frame  []byte
}

// Transmit consumes up to max available transmit chains (all if max < 0),
// gathering each chain's segments. With complete set, it also returns them
// as used; otherwise the test completes them later with PushUsed.
func (d *Device) Transmit(max int, complete bool) ([]TxFrame, error) {
	var out []TxFrame
	for max != 0 && d.Avail(TxQueue) > 0 {
		max--
		id, segs, err := d.Pop(TxQueue)
		if err != nil {
			return out, err
		}
		var all []byte
		for _, s := range segs {
			if s.Writable {
				return out, errors.New("virtiomodel: writable descriptor on the transmit queue")
			}
			all = append(all, s.Buf...)
		}
		if len(all) < hdrLen {
			return out, errors.New("virtiomodel: transmit chain shorter than the header")
		}
		out = append(out, TxFrame{ID: id, Header: all[:hdrLen], Frame: all[hdrLen:]})
		if complete {
			if err := d.PushUsed(TxQueue, uint32(id), 0); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}
