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

// QEMU's virtio-net features by backend (checked with the monitor's
// `info virtio-status`, see DESIGN.md): over a TAP (a vnet header) it
// offers every checksum and segmentation offload; under user networking
// it clears them and keeps mergeable buffers and event index. ECN and UFO
// are offered too; the driver must leave them.
const (
	featGuestECN = 1 << 9
	featGuestUFO = 1 << 10
	featHostECN  = 1 << 13
	featHostUFO  = 1 << 14

	QEMUUserFeatures = virtio.FeatureNetMrgRxbuf | virtio.FeatureEventIdx
	QEMUTAPFeatures  = QEMUUserFeatures | virtio.FeatureNetCsum | virtio.FeatureNetGuestCsum |
		virtio.FeatureNetHostTSO4 | virtio.FeatureNetHostTSO6 | virtio.FeatureNetGuestTSO4 | virtio.FeatureNetGuestTSO6 |
		featGuestECN | featGuestUFO | featHostECN | featHostUFO
)

// NewNetTAP is NewNet offering what QEMU offers with -netdev tap.
func NewNetTAP(mem *Mem) *Device {
	d := NewNet(mem)
	d.Features |= QEMUTAPFeatures
	return d
}

// NewNetUser is NewNet offering what QEMU offers with -netdev user.
func NewNetUser(mem *Mem) *Device {
	d := NewNet(mem)
	d.Features |= QEMUUserFeatures
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

// NetHdr is struct virtio_net_hdr (virtio 1.1 §5.1.6).
type NetHdr struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16
	GSOSize    uint16
	CsumStart  uint16
	CsumOffset uint16
	NumBuffers uint16
}

// virtio_net_hdr flags and GSO types (virtio 1.1 §5.1.6).
const (
	FlagNeedsCsum = 1
	FlagDataValid = 2
	GSONone       = 0
	GSOTCPv4      = 1
	GSOUDP        = 3
	GSOTCPv6      = 4
	GSOECN        = 0x80
)

// ParseNetHdr reads a virtio-net header.
func ParseNetHdr(b []byte) NetHdr {
	le := binary.LittleEndian
	return NetHdr{
		Flags: b[0], GSOType: b[1], HdrLen: le.Uint16(b[2:]), GSOSize: le.Uint16(b[4:]),
		CsumStart: le.Uint16(b[6:]), CsumOffset: le.Uint16(b[8:]), NumBuffers: le.Uint16(b[10:]),
	}
}

// Put writes h into b.
func (h NetHdr) Put(b []byte) {
	le := binary.LittleEndian
	b[0], b[1] = h.Flags, h.GSOType
	le.PutUint16(b[2:], h.HdrLen)
	le.PutUint16(b[4:], h.GSOSize)
	le.PutUint16(b[6:], h.CsumStart)
	le.PutUint16(b[8:], h.CsumOffset)
	le.PutUint16(b[10:], h.NumBuffers)
}

// Receive delivers frame to the driver with an empty header (no
// offloads); see ReceiveHdr.
func (d *Device) Receive(frame []byte) error { return d.ReceiveHdr(frame, NetHdr{}) }

// ReceiveHdr delivers frame to the driver behind header h. Without
// VIRTIO_NET_F_MRG_RXBUF it takes one receive buffer, which must hold the
// whole frame. With it, as QEMU does, it fills as many buffers as the
// frame needs, each to the brim but the last, sets num_buffers, and makes
// them used all at once (§5.1.6.4.2). It does not allocate.
func (d *Device) ReceiveHdr(frame []byte, h NetHdr) error {
	mrg := d.DriverFeatures&virtio.FeatureNetMrgRxbuf != 0
	h.NumBuffers = 1
	rest := frame
	n := 0
	for first := true; first || len(rest) > 0; first = false {
		if n == len(d.rxIDs) {
			return errors.New("virtiomodel: frame needs too many receive buffers")
		}
		id, b, writable, err := d.PopOne(RxQueue)
		if err != nil {
			d.unpop(RxQueue, n)
			return err
		}
		if !writable {
			return errors.New("virtiomodel: receive buffer is not writable")
		}
		used := 0
		if first {
			if len(b) < hdrLen {
				return errors.New("virtiomodel: receive buffer shorter than the header")
			}
			used = hdrLen
		}
		c := copy(b[used:], rest)
		rest = rest[c:]
		d.rxIDs[n], d.rxLens[n] = id, uint32(used+c)
		n++
		if len(rest) > 0 && !mrg {
			d.unpop(RxQueue, n)
			return errors.New("virtiomodel: receive buffer too small")
		}
		if first {
			d.rxHdr = b[:hdrLen]
		}
	}
	h.NumBuffers = uint16(n)
	h.Put(d.rxHdr)
	for i := range n {
		d.putUsed(RxQueue, uint32(d.rxIDs[i]), d.rxLens[i])
	}
	return d.publishUsed(RxQueue, n)
}

// TxFrame is one frame the driver sent, header stripped.
type TxFrame struct {
	ID     uint16
	Header []byte
	Hdr    NetHdr // Header, parsed
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
		out = append(out, TxFrame{ID: id, Header: all[:hdrLen], Hdr: ParseNetHdr(all), Frame: all[hdrLen:]})
		if complete {
			if err := d.PushUsed(TxQueue, uint32(id), 0); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}
