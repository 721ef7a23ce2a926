package tap

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// Device implements netif.Device (checked at compile time).
var _ netif.Device = (*Device)(nil)

// maxRead is the receive buffer size: the largest frame the kernel can hand
// us (a 64 KiB MTU plus header), so that no frame is truncated silently;
// frames above our MTU are then dropped and counted.
const maxRead = 65535 + netif.EthernetHeaderLen

// Device is an open TAP interface. It implements netif.Device.
type Device struct {
	name string
	mac  inet.MAC
	mtu  int

	f  *os.File        // nonblocking fd registered with the Go poller
	rc syscall.RawConn // f's raw conn, for writev through the poller

	handler  atomic.Pointer[netif.Handler]
	ctr      netif.Counters
	closed   atomic.Bool
	linkDown atomic.Bool   // the kernel refused the last write with EIO (interface down)
	vnet     bool          // frames carry a virtio-net header (IFF_VNET_HDR)
	done     chan struct{} // closed when the read loop ends
	once     sync.Once

	// Transmit ring (see tx_linux.go). txMu serializes Transmit calls;
	// head and tail index the ring.
	tx         txRing
	txMu       sync.Mutex
	head, tail atomic.Uint64
	kick       chan struct{} // Transmit -> writer: frames queued
	space      chan struct{} // writer -> waiting Transmit: slots freed
	waiting    atomic.Bool   // a Transmit waits for space
	stalledAt  atomic.Uint64 // tail+1 when a wait for space timed out
	timer      *time.Timer   // bounds the wait for space (under txMu)
	stop       chan struct{} // closed by Close
	wdone      chan struct{} // closed when the writer ends
	lastErr    atomic.Pointer[error]
	coalesced  atomic.Uint64

	// Writer state, guarded by wMu: held by the writer goroutine, or by
	// a Transmit that finds the ring full, for each write. The iovec
	// array and the writev closure are built once so that sending does
	// not allocate.
	wMu     sync.Mutex
	iov     [maxRunSegs]unix.Iovec
	niov    int
	written int
	werr    unix.Errno
	writevF func(fd uintptr) bool
}

// Open attaches to the TAP interface name, creating it if missing (which
// needs CAP_NET_ADMIN), and starts the receive goroutine. An interface that
// Open created disappears on Close; a persistent one (ip tuntap add) stays.
func Open(name string, opts Options) (*Device, error) {
	if opts.MTU <= 0 {
		opts.MTU = DefaultMTU
	}
	mac := opts.MAC
	if mac.IsZero() {
		var err error
		if mac, err = inet.RandomMAC(rand.Read); err != nil {
			return nil, fmt.Errorf("tap: random MAC: %w", err)
		}
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("tap: opening /dev/net/tun needs root or CAP_NET_ADMIN: %w", err)
		}
		return nil, fmt.Errorf("tap: opening /dev/net/tun: %w", err)
	}
	vnet := !opts.PlainFrames
	ifname, err := attach(fd, name, vnet)
	if err != nil && vnet && errors.Is(err, unix.EINVAL) {
		vnet = false // no IFF_VNET_HDR here: plain frames, no coalescing
		ifname, err = attach(fd, name, vnet)
	}
	if err == nil {
		err = configure(ifname, opts)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	// The fd is nonblocking, so os.NewFile registers it with the runtime
	// poller: reads park the goroutine, and Close wakes a blocked Read.
	f := os.NewFile(uintptr(fd), "/dev/net/tun:"+ifname)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("tap: %w", err)
	}
	d := &Device{
		name: ifname, mac: mac, mtu: opts.MTU, f: f, rc: rc, vnet: vnet,
		done:  make(chan struct{}),
		tx:    newTxRing(opts.MTU, vnet),
		kick:  make(chan struct{}, 1),
		space: make(chan struct{}, 1),
		timer: time.NewTimer(time.Hour),
		stop:  make(chan struct{}),
		wdone: make(chan struct{}),
	}
	d.timer.Stop()
	d.writevF = d.writev
	go d.readLoop()
	go d.writeLoop()
	return d, nil
}

// Name returns the kernel's name for the interface.
func (d *Device) Name() string { return d.name }

// MAC implements netif.Device.MAC. It is our address, not the kernel
// interface's.
func (d *Device) MAC() inet.MAC { return d.mac }

// MTU implements netif.Device.MTU.
func (d *Device) MTU() int { return d.mtu }

// Headroom implements netif.Device.Headroom: a TAP takes bare frames.
func (d *Device) Headroom() int { return 0 }

// Offloads implements netif.Device.Offloads.
func (d *Device) Offloads() netif.Offloads { return netif.Offloads{} }

// LinkUp implements netif.Device.LinkUp. It approximates the carrier: true
// while open, unless the kernel refused the last frame because its
// interface is down.
func (d *Device) LinkUp() bool { return !d.closed.Load() && !d.linkDown.Load() }

// SetHandler implements netif.Device.SetHandler.
func (d *Device) SetHandler(h netif.Handler) {
	if h == nil {
		d.handler.Store(nil)
		return
	}
	d.handler.Store(&h)
}

// Stats implements netif.Device.Stats. TxFrames and TxBytes count the
// frames Transmit accepted; a queued frame that the kernel then refuses is
// also counted in TxDropped (interface down) or TxErrors.
func (d *Device) Stats() netif.Stats { return d.ctr.Snapshot() }

// readLoop hands each frame to the handler straight from one reused buffer.
func (d *Device) readLoop() {
	defer close(d.done)
	hdr := 0
	if d.vnet {
		hdr = vnetHdrLen
	}
	buf := make([]byte, hdr+maxRead)
	for {
		n, err := d.f.Read(buf)
		if err != nil {
			if d.closed.Load() || errors.Is(err, os.ErrClosed) {
				return
			}
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			// EBADFD and the like: the interface is gone. Stop rather
			// than spin on a dead descriptor.
			d.ctr.RxErrors.Add(1)
			d.linkDown.Store(true)
			return
		}
		if n < hdr || !d.rxHeader(buf[:n]) {
			d.ctr.RxDropped.Add(1)
			continue
		}
		frame := buf[hdr:n]
		switch h := d.handler.Load(); {
		case len(frame) < netif.EthernetHeaderLen || len(frame) > d.mtu+netif.EthernetHeaderLen || h == nil:
			d.ctr.RxDropped.Add(1)
		default:
			d.ctr.CountRx(len(frame))
			(*h)(frame, netif.RxMeta{})
		}
	}
}

// rxHeader applies the virtio-net header in front of a received frame, if
// any. The kernel only sets one up for offloads that TUNSETOFFLOAD
// enables, and Open enables none, so the header is normally empty; a
// partial checksum is completed in software all the same, and a GSO frame
// (which we never asked for) is refused.
func (d *Device) rxHeader(b []byte) bool {
	if !d.vnet {
		return true
	}
	if b[1] != vnetGSONone {
		return false
	}
	if b[0]&vnetFlagNeedsCsum != 0 {
		f := b[vnetHdrLen:]
		start := int(binary.NativeEndian.Uint16(b[6:]))
		at := start + int(binary.NativeEndian.Uint16(b[8:]))
		if at+2 > len(f) {
			return false
		}
		cs := checksum.Checksum(f[start:], 0)
		binary.BigEndian.PutUint16(f[at:], cs)
	}
	return true
}

// Close implements netif.Device.Close. It first writes the frames still in
// the transmit ring (for at most flushWait), then stops the receive and
// writer goroutines and waits for them. It must not be called from the
// handler.
func (d *Device) Close() error {
	var err error
	d.once.Do(func() {
		d.flush()
		d.closed.Store(true)
		close(d.stop)
		err = d.f.Close()
		<-d.done
		<-d.wdone
	})
	return err
}

// flushWait bounds how long Close spends writing frames still queued.
const flushWait = 200 * time.Millisecond

// flush writes the frames that Transmit accepted but the writer has not
// sent yet (a final FIN, a DHCP RELEASE), for at most flushWait, so that
// Close does not silently lose them.
func (d *Device) flush() {
	deadline := time.Now().Add(flushWait)
	for d.tail.Load() != d.head.Load() && time.Now().Before(deadline) {
		if d.wMu.TryLock() {
			_, stop := d.sendOne()
			d.wMu.Unlock()
			if stop {
				return
			}
			continue
		}
		runtime.Gosched() // the writer goroutine is mid-write
	}
}
