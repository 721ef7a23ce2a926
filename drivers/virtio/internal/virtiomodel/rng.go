// Device model: entropy device behaviour (virtio 1.1 §5.4).

package virtiomodel

import "github.com/mirago/mirago/drivers/virtio"

// NewRNG returns an entropy device (virtio 1.1 §5.4) that answers each
// request at once, on notify, by filling the buffer from fill.
func NewRNG(mem *Mem, fill func([]byte)) *Device {
	d := New(mem, virtio.DeviceEntropy, virtio.FeatureVersion1)
	d.NumQueues = 1
	d.OnNotify = func(q int) {
		for d.Avail(0) > 0 {
			id, segs, err := d.Pop(0)
			if err != nil || len(segs) != 1 {
				return
			}
			fill(segs[0].Buf)
			d.PushUsed(0, uint32(id), uint32(len(segs[0].Buf)))
		}
	}
	return d
}
