package tap

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

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
	mac  netif.MAC
	mtu  int

	f  *os.File        // nonblocking fd registered with the Go poller
	rc syscall.RawConn // f's raw conn, for writev through the poller

	handler  atomic.Pointer[netif.Handler]
	ctr      netif.Counters
	closed   atomic.Bool
	linkDown atomic.Bool // the kernel refused the last write with EIO (interface down)
	done     chan struct{}
	once     sync.Once

	// Transmit state, guarded by txMu. The iovec array and the writev
	// closure are built once so that Transmit does not allocate.
	txMu    sync.Mutex
	iov     [3]unix.Iovec
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
		if mac, err = netif.RandomMAC(rand.Read); err != nil {
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
	ifname, err := attach(fd, name)
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
	d := &Device{name: ifname, mac: mac, mtu: opts.MTU, f: f, rc: rc, done: make(chan struct{})}
	d.writevF = d.writev
	go d.readLoop()
	return d, nil
}

// Name returns the kernel's name for the interface.
func (d *Device) Name() string { return d.name }

// MAC implements netif.Device.MAC. It is our address, not the kernel
// interface's.
func (d *Device) MAC() netif.MAC { return d.mac }

// MTU implements netif.Device.MTU.
func (d *Device) MTU() int { return d.mtu }

// Headroom implements netif.Device.Headroom: a TAP takes bare frames.
func (d *Device) Headroom() int { return 0 }

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

// Stats implements netif.Device.Stats.
func (d *Device) Stats() netif.Stats { return d.ctr.Snapshot() }

// readLoop hands each frame to the handler straight from one reused buffer.
func (d *Device) readLoop() {
	defer close(d.done)
	buf := make([]byte, maxRead)
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
		switch h := d.handler.Load(); {
		case n < netif.EthernetHeaderLen || n > d.mtu+netif.EthernetHeaderLen || h == nil:
			d.ctr.RxDropped.Add(1)
		default:
			d.ctr.CountRx(n)
			(*h)(buf[:n])
		}
	}
}

// Close implements netif.Device.Close. It stops the receive goroutine and
// waits for it; it must not be called from the handler.
func (d *Device) Close() error {
	var err error
	d.once.Do(func() {
		d.closed.Store(true)
		err = d.f.Close()
		<-d.done
	})
	return err
}
