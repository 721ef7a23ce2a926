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

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// Device implements netif.Device (checked at compile time).
var (
	_ netif.Device         = (*Device)(nil)
	_ netif.TxRoomNotifier = (*Device)(nil)
)

// maxFrame is the largest frame the kernel can hand us, and the largest
// TSO frame we hand it: a 64 KiB IPv6 payload (IPv4's total length is
// shorter) behind its headers. The receive buffer holds one, so that no
// frame is truncated silently; frames above our MTU that the kernel did
// not merge (GSO) are dropped and counted.
const maxFrame = netif.EthernetHeaderLen + 40 + 65535

// Offload flags of TUNSETOFFLOAD (include/uapi/linux/if_tun.h): what the
// reader of the TAP takes from the kernel.
const (
	tunFCsum = 0x01 // TUN_F_CSUM: partial checksums
	tunFTSO4 = 0x02 // TUN_F_TSO4: TCP/IPv4 segments up to 64 KiB
	tunFTSO6 = 0x04 // TUN_F_TSO6: the same over IPv6
)

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
	linkDown atomic.Bool // the kernel refused the last write with EIO (interface down)
	vnet     bool        // frames carry a virtio-net header (IFF_VNET_HDR)
	tunOff   int         // the TUNSETOFFLOAD flags the kernel took
	off      netif.Offloads
	done     chan struct{} // closed when the read loop ends
	once     sync.Once

	// Transmit ring (see tx_linux.go). txMu serializes Transmit calls;
	// head and tail index the ring.
	tx         txRing
	txMu       sync.Mutex
	head, tail atomic.Uint64
	kick       chan struct{}          // Transmit -> writer: frames queued
	space      chan struct{}          // writer -> waiting Transmit: slots freed
	waiting    atomic.Bool            // a Transmit waits for space
	room       atomic.Pointer[func()] // SetTxRoom
	wantRoom   atomic.Bool            // Transmit refused a frame: the writer calls room when the ring is half free
	stalledAt  atomic.Uint64          // tail+1 when a wait for space timed out
	timer      *time.Timer            // bounds the wait for space (under txMu)
	stop       chan struct{}          // closed by Close
	wdone      chan struct{}          // closed when the writer ends
	lastErr    atomic.Pointer[error]
	rxBad      atomic.Uint64
	rxLarge    atomic.Uint64
	txTSO      atomic.Uint64

	// Writer state, guarded by wMu: held by the writer goroutine, or by
	// a Transmit that finds the ring full, for each write. The iovec
	// array and the writev closure are built once so that sending does
	// not allocate.
	wMu     sync.Mutex
	nowHdr  [vnetHdrLen]byte // the header of a frame written at once
	iov     [4]unix.Iovec
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
		vnet = false // no IFF_VNET_HDR here: plain frames, no offloads
		ifname, err = attach(fd, name, vnet)
	}
	tunOff := 0
	if err == nil && vnet {
		tunOff, err = setOffload(fd, ifname, opts)
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
		tunOff: tunOff, off: offloads(vnet, tunOff),
		done:  make(chan struct{}),
		tx:    newTxRing(vnet),
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

// Offloads implements netif.Device.Offloads. With a virtio-net header the
// kernel completes the checksums we leave partial and segments our TSO
// frames, as for a VM; and it hands us partial checksums and merged
// segments. TSO is offered both ways when TUNSETOFFLOAD took it (not with
// Options.NoTSO).
func (d *Device) Offloads() netif.Offloads { return d.off }

// offloads are a TAP's offloads given its header and TUNSETOFFLOAD flags.
func offloads(vnet bool, tunOff int) netif.Offloads {
	if !vnet {
		return netif.Offloads{}
	}
	o := netif.Offloads{TxChecksum: true, RxChecksum: tunOff&tunFCsum != 0}
	if tunOff&tunFTSO4 != 0 {
		o.TSO4Max, o.LargeReceive = 65535, maxFrame
	}
	if tunOff&tunFTSO6 != 0 {
		o.TSO6Max, o.LargeReceive = 65535+40, maxFrame
	}
	return o
}

// RxRefused is how many received frames were dropped for a virtio-net
// header the negotiated offloads do not allow (a GSO type we did not ask
// for, a checksum offset outside the frame). They also count in
// RxDropped.
func (d *Device) RxRefused() uint64 { return d.rxBad.Load() }

// LargeReceived is how many frames the kernel handed us merged from
// several TCP segments (GSO).
func (d *Device) LargeReceived() uint64 { return d.rxLarge.Load() }

// TSOSent is how many TSO frames Transmit took (each larger than one
// segment, for the kernel to cut).
func (d *Device) TSOSent() uint64 { return d.txTSO.Load() }

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

// readLoop hands each frame to the handler straight from one of two
// reused buffers. Before handing up a full-sized frame (the MTU's, or a
// larger one the kernel merged: bulk traffic) it tries to read the next
// one without waiting: when that finds a frame, the one handed up
// is marked netif.RxMeta.More, so the stack can end the batch (send the
// ACK it owes for all of them) after the last frame the kernel had
// queued rather than after each.
func (d *Device) readLoop() {
	defer close(d.done)
	hdr := 0
	if d.vnet {
		hdr = vnetHdrLen
	}
	cur := make([]byte, hdr+maxFrame)
	next := make([]byte, hdr+maxFrame)
	var (
		n     int   // bytes of the frame in cur; 0: none read yet
		owed  bool  // the last frame handed up was marked More
		nn    int   // the read ahead's result
		nerr  error // and error
		ahead = func(fd uintptr) bool {
			for {
				nn, nerr = unix.Read(int(fd), next)
				if nerr != unix.EINTR {
					return true // never wait: EAGAIN means no frame queued
				}
			}
		}
	)
	for {
		if n == 0 {
			var err error
			n, err = d.f.Read(cur)
			if err != nil {
				n = 0
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
		}
		nn, nerr = 0, nil
		if n < hdr+d.mtu+netif.EthernetHeaderLen {
			// A short frame (a request, a response, an ACK): nothing to
			// batch, and the read would mostly find nothing, a wasted
			// system call.
		} else if d.rc.Read(ahead) != nil || nerr != nil {
			nn = 0 // EAGAIN: nothing queued; anything worse, the next Read sees
		}
		owed = d.deliver(cur[:n], hdr, nn > 0, owed)
		cur, next, n = next, cur, nn
	}
}

// deliver hands one frame read from the TAP (virtio-net header first,
// hdr bytes) to the handler, marked More when the next one is in hand,
// or drops and counts it. It reports whether the handler still expects a
// frame after this one (see netif.RxMeta.More): when it drops a frame
// that the previous one promised, with no other in hand, it ends the
// batch with a nil frame instead.
func (d *Device) deliver(b []byte, hdr int, more, owed bool) bool {
	h := d.handler.Load()
	if h == nil {
		d.ctr.RxDropped.Add(1)
		return false
	}
	ok := len(b) >= hdr
	var meta netif.RxMeta
	var frame []byte
	if ok {
		frame = b[hdr:]
		meta, ok = d.rxMeta(b[:hdr], len(frame))
		if !ok {
			d.rxBad.Add(1)
		}
	}
	limit := d.mtu + netif.EthernetHeaderLen
	if meta.SegSize != 0 {
		limit = maxFrame
	}
	if !ok || len(frame) < netif.EthernetHeaderLen || len(frame) > limit {
		d.ctr.RxDropped.Add(1)
		if owed && !more {
			(*h)(nil, netif.RxMeta{})
		}
		return owed && more
	}
	if meta.SegSize != 0 {
		d.rxLarge.Add(1)
	}
	d.ctr.CountRx(len(frame))
	meta.More = more
	(*h)(frame, meta)
	return more
}

// rxMeta reads the virtio-net header in front of a received frame of l
// bytes, if any: a partial checksum (NEEDS_CSUM; the kernel only sends
// those after TUN_F_CSUM) or one it verified (DATA_VALID) makes the frame
// CsumVerified, and a TCP segment merged by the kernel (GSO, after
// TUN_F_TSO4/6) gives its segment size. It reports false for what we did
// not ask for.
func (d *Device) rxMeta(h []byte, l int) (netif.RxMeta, bool) {
	var m netif.RxMeta
	if len(h) < vnetHdrLen {
		return m, true
	}
	ne := binary.NativeEndian
	if h[0]&(vnetFlagNeedsCsum|vnetFlagDataValid) != 0 {
		if d.tunOff&tunFCsum == 0 {
			return m, false
		}
		if h[0]&vnetFlagNeedsCsum != 0 && int(ne.Uint16(h[6:]))+int(ne.Uint16(h[8:]))+2 > l {
			return m, false
		}
		m.CsumVerified = true
	}
	switch h[1] {
	case vnetGSONone:
		return m, true
	case vnetGSOTCPv4:
		if d.tunOff&tunFTSO4 == 0 {
			return m, false
		}
	case vnetGSOTCPv6:
		if d.tunOff&tunFTSO6 == 0 {
			return m, false
		}
	default:
		return m, false // UDP, or ECN, which we never ask for
	}
	m.SegSize = ne.Uint16(h[4:])
	return m, m.SegSize != 0
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
