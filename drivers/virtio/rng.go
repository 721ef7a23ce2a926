// virtio entropy device (virtio 1.1 §5.4).

package virtio

import (
	"errors"
	"sync"
	"time"
)

// Entropy device queue (virtio 1.1 §5.4.2: one queue, requestq).
const rngQueue = 0

// rngChunk is how many bytes one request asks for.
const rngChunk = 64

// ErrRNGTimeout is returned when the entropy device does not answer.
var ErrRNGTimeout = errors.New("virtio: entropy device did not answer")

// RNG is a virtio entropy device (virtio 1.1 §5.4). Reads post one
// device-writable buffer and wait, by polling, for the device to fill it:
// it is meant for seeding a DRBG at boot, not for bulk use.
type RNG struct {
	mu  sync.Mutex
	t   *Transport
	r   *ring
	buf []byte
	bus uint64
	// Timeout bounds each request (default 1s).
	Timeout time.Duration
	// Malformed counts answers with a bad id or length.
	Malformed uint64
	broken    bool // timed out: the device may still own the buffer
}

// NewRNG brings up the entropy device behind t.
func NewRNG(t *Transport, mem Memory) (*RNG, error) {
	if t.DeviceID != DeviceEntropy {
		return nil, errors.New("virtio: not an entropy device")
	}
	if err := t.Negotiate(FeatureVersion1, FeatureVersion1); err != nil {
		return nil, err
	}
	size := queueSize(2, 2, t.QueueMax(rngQueue))
	if size == 0 {
		t.Fail()
		return nil, ErrNoQueue
	}
	r, err := newRing(mem, size)
	if err != nil {
		t.Fail()
		return nil, err
	}
	buf, bus, err := mem.Alloc(rngChunk, 64)
	if err != nil {
		t.Fail()
		return nil, err
	}
	if err := t.SetupQueue(rngQueue, r); err != nil {
		t.Fail()
		return nil, err
	}
	t.DriverOK()
	return &RNG{t: t, r: r, buf: buf, bus: bus, Timeout: time.Second}, nil
}

// Read fills p with bytes from the device. It returns ErrRNGTimeout if the
// device stops answering.
func (g *RNG) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.broken {
		return 0, ErrRNGTimeout
	}
	n, empty := 0, 0
	for n < len(p) {
		k, err := g.request(min(len(p)-n, rngChunk))
		n += copy(p[n:], g.buf[:k])
		if err != nil {
			return n, err
		}
		if k == 0 {
			if empty++; empty > 16 {
				return n, errors.New("virtio: entropy device returns no data")
			}
		}
	}
	return n, nil
}

// request asks for want bytes and returns how many the device wrote.
func (g *RNG) request(want int) (int, error) {
	g.r.setDesc(0, g.bus, uint32(want), descFWrite, 0)
	g.r.push(0)
	g.r.publish()
	g.t.Notify(rngQueue)
	deadline := time.Now().Add(g.Timeout)
	for spins := 0; g.r.usedIdx == g.r.usedIndex(); spins++ {
		if spins&1023 == 1023 && time.Now().After(deadline) {
			g.broken = true
			return 0, ErrRNGTimeout
		}
	}
	id, l := g.r.usedElem(g.r.usedIdx)
	g.r.usedIdx++
	if id != 0 || l > uint32(want) {
		g.Malformed++
		return 0, errors.New("virtio: entropy device returned a malformed entry")
	}
	return int(l), nil
}
