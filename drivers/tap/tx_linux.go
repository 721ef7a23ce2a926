package tap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mirago/mirago/drivers/internal/bytering"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// Transmit path.
//
// Transmit copies a bulk TCP frame (a TSO segment, or flags exactly ACK:
// data or a bare ACK) into a ring and returns; a writer goroutine drains
// the ring, so that the write system call (and the kernel's receive
// processing of the frame, which runs inside it) overlaps with the
// stack's own work instead of running under the stack's lock. Other
// frames (PSH, SYN, FIN, RST, ARP, ICMP, UDP) are written at once when the
// ring is empty, so that request/response traffic does not pay for the
// writer's wake-up; behind queued frames they queue too, so frames always
// leave in the order Transmit took them. On a full ring Transmit makes the
// next write itself unless the writer is in the middle of one (wMu), so a
// full ring never waits for the writer goroutine to be scheduled.
//
// With IFF_VNET_HDR every frame written to the TAP carries a virtio-net
// header in front, built from the Buf's offloads (pkt.Buf.Offload): a
// checksum left partial (NEEDS_CSUM) and a TSO segment of up to 64 KiB
// (GSO_TCPV4/6), which the kernel takes as a virtio-net guest's, so one
// write moves up to 64 KiB. The stack makes the large segments itself when
// the device advertises TSO (Offloads).

// vnetHdrLen is the size of struct virtio_net_hdr (no num_buffers).
const vnetHdrLen = 10

// virtio_net_hdr fields (include/uapi/linux/virtio_net.h), in the host's
// byte order on a TAP (TUNSETVNETLE is for big-endian hosts).
const (
	vnetFlagNeedsCsum = 1    // VIRTIO_NET_HDR_F_NEEDS_CSUM
	vnetFlagDataValid = 2    // VIRTIO_NET_HDR_F_DATA_VALID
	vnetGSONone       = 0    // VIRTIO_NET_HDR_GSO_NONE
	vnetGSOTCPv4      = 1    // VIRTIO_NET_HDR_GSO_TCPV4
	vnetGSOTCPv6      = 4    // VIRTIO_NET_HDR_GSO_TCPV6
	vnetGSOECN        = 0x80 // VIRTIO_NET_HDR_GSO_ECN
)

const (
	// ringBytes bounds the memory of the transmit ring.
	ringBytes = 4 << 20
	// ringFrames bounds the number of frames queued.
	ringFrames = 256
	// fullWait is the longest Transmit waits for room when the ring is
	// full before it gives up with netif.ErrBusy. The writer frees room
	// within one write, a few microseconds, unless the kernel stops
	// taking frames; Transmit runs under the stack's lock, so it must
	// not wait long.
	fullWait = 2 * time.Millisecond
)

// txRing is the transmit ring: frames packed by size into one buffer
// (drivers/internal/bytering), each preceded by hdr bytes for the
// virtio-net header (0 without IFF_VNET_HDR). Frame i of the ring is
// recs[i%n].
//
// head is written by Transmit only (under txMu), tail by the writer only
// (under wMu); both only grow. The frames in [tail, head) belong to the
// writer. wpos, the next byte position, is Transmit's.
type txRing struct {
	buf  []byte
	recs []txRec
	n    uint64 // frames
	hdr  int    // vnetHdrLen with IFF_VNET_HDR, else 0
	wpos uint64
}

// txRec is one queued frame: where it starts in buf and its length,
// header included.
type txRec struct {
	start uint64
	n     int
}

func newTxRing(vnet bool) txRing {
	r := txRing{buf: make([]byte, ringBytes), recs: make([]txRec, ringFrames), n: ringFrames}
	if vnet {
		r.hdr = vnetHdrLen
	}
	return r
}

// frame returns frame i of the ring, header included.
func (r *txRing) frame(i uint64) []byte {
	e := r.recs[i%r.n]
	off := int(e.start % uint64(len(r.buf)))
	return r.buf[off : off+e.n : off+e.n]
}

// place finds room for n bytes after frame h-1, given that the writer has
// sent every frame before t, and reports whether there is.
func (r *txRing) place(h, t uint64, n int) (uint64, bool) {
	if h-t >= r.n {
		return 0, false
	}
	rd := r.wpos
	if t != h {
		rd = r.recs[t%r.n].start
	}
	return bytering.Place(len(r.buf), r.wpos, rd, n)
}

// maxTx is the largest frame Transmit takes from b: the MTU's, or a TSO
// segment's with the virtio-net header.
func (d *Device) maxTx(t pkt.GSOType) int {
	if d.tx.hdr != 0 && t != pkt.GSONone {
		return maxFrame
	}
	return d.mtu + netif.EthernetHeaderLen
}

// Transmit implements netif.Device.Transmit. It copies the frame into the
// transmit ring and returns; the writer goroutine sends it, and counts
// any failure in TxErrors or TxDropped (see LastTxError). A frame that
// finds the ring empty and is not bulk TCP (see deferrable) is written at
// once instead, without a copy, and its errors are returned as before.
//
// When the ring stays full for fullWait (the kernel is not taking
// frames), Transmit drops the frame and returns netif.ErrBusy; the writer
// then reports room (SetTxRoom) once the ring is half free. While the
// kernel reports its side of the interface down, queued frames are still
// written (the first one that goes through brings the link back up) but
// Transmit returns netif.ErrLinkDown.
func (d *Device) Transmit(b *pkt.Buf) error {
	if d.closed.Load() {
		return netif.ErrClosed
	}
	n := b.Len()
	o := b.Offload()
	if n > d.maxTx(o.GSO) {
		d.ctr.TxDropped.Add(1)
		return netif.ErrTooBig
	}
	if o.GSO != pkt.GSONone && n > o.HdrLen+o.GSOSize {
		d.txTSO.Add(1)
	}
	if o.NeedsCsum && d.tx.hdr == 0 {
		// Plain frames: no device to leave it to (a stack reading
		// Offloads does not ask).
		if !b.FinishChecksum() {
			d.ctr.TxErrors.Add(1)
			return netif.ErrTooBig
		}
		o.NeedsCsum = false
	}
	r := &d.tx
	d.txMu.Lock()
	h := d.head.Load()
	if h == d.tail.Load() && !d.deferrable(b, o) && d.wMu.TryLock() {
		// Nothing queued, and a frame that ends a burst (PSH) or is not
		// bulk TCP: write it now, saving the writer's wake-up on
		// request/response traffic.
		err := d.writeNow(b, o, n)
		d.wMu.Unlock()
		d.txMu.Unlock()
		return err
	}
	start, ok := r.place(h, d.tail.Load(), r.hdr+n)
	if !ok {
		if start, ok = d.waitRoom(h, r.hdr+n); !ok {
			d.txMu.Unlock()
			d.ctr.TxDropped.Add(1)
			if d.closed.Load() {
				return netif.ErrClosed
			}
			// The writer tells room once the ring is half free; the
			// kick makes it look even if it has drained the ring
			// already and sleeps.
			d.wantRoom.Store(true)
			select {
			case d.kick <- struct{}{}:
			default:
			}
			return netif.ErrBusy
		}
	}
	off := int(start % uint64(len(r.buf)))
	f := r.buf[off : off+r.hdr+n]
	if r.hdr != 0 {
		putVnetHdr(f[:r.hdr], o, n)
	}
	b.CopyTo(f[r.hdr:])
	r.recs[h%r.n] = txRec{start: start, n: r.hdr + n}
	r.wpos = start + uint64(r.hdr+n)
	d.head.Store(h + 1)
	d.txMu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default:
	}
	d.ctr.CountTx(n)
	if d.linkDown.Load() {
		return netif.ErrLinkDown
	}
	return nil
}

// deferrable reports whether b goes through the ring even when the ring is
// empty: a TSO segment, or a TCP segment with ACK as its only flag, that
// is bulk data or a bare ACK, which in a bulk receive the writer sends
// while the read loop takes the next frames (measured: kernel->stack
// 2.0-2.7 Gbit/s with bare ACKs deferred, 1.3-1.5 written at once). The
// stack leaves every TCP checksum to a device with a vnet header, so the
// partial checksum says where the TCP header is, in either family.
func (d *Device) deferrable(b *pkt.Buf, o pkt.Offload) bool {
	if d.tx.hdr == 0 {
		return false
	}
	if o.GSO != pkt.GSONone {
		return true
	}
	f := b.Bytes()
	const tcpCsumOffset, tcpFlags, tcpACK = 16, 13, 0x10
	return o.NeedsCsum && o.CsumOffset == tcpCsumOffset && o.CsumStart+20 <= len(f) &&
		f[o.CsumStart+tcpFlags] == tcpACK
}

// writeNow writes b at once, from the caller's memory, with txMu and wMu
// held and the ring empty.
func (d *Device) writeNow(b *pkt.Buf, o pkt.Offload, n int) error {
	d.niov = 0
	if d.tx.hdr != 0 {
		putVnetHdr(d.nowHdr[:], o, n)
		d.add(d.nowHdr[:])
	}
	d.add(b.Bytes())
	for _, p := range b.Attached() {
		d.add(p)
	}
	d.written, d.werr = 0, 0
	err := d.rc.Write(d.writevF)
	clear(d.iov[:d.niov]) // do not keep the caller's memory reachable
	switch {
	case err != nil:
		d.ctr.TxErrors.Add(1)
		if d.closed.Load() {
			return netif.ErrClosed
		}
		return fmt.Errorf("tap: %w", err)
	case d.werr == unix.EIO:
		d.linkDown.Store(true)
		d.ctr.TxDropped.Add(1)
		return netif.ErrLinkDown
	case d.werr != 0:
		d.ctr.TxErrors.Add(1)
		return fmt.Errorf("tap: writev: %w", d.werr)
	case d.written != n+d.tx.hdr:
		d.ctr.TxErrors.Add(1)
		return fmt.Errorf("tap: short write (%d of %d bytes)", d.written, n+d.tx.hdr)
	}
	d.linkDown.Store(false)
	d.ctr.CountTx(n)
	return nil
}

// putVnetHdr writes the virtio-net header of a frame of n bytes with
// offloads o: a partial checksum from csum_start, and TSO for a frame
// larger than one segment.
func putVnetHdr(h []byte, o pkt.Offload, n int) {
	clear(h)
	ne := binary.NativeEndian
	if o.NeedsCsum {
		h[0] = vnetFlagNeedsCsum
		ne.PutUint16(h[6:], uint16(o.CsumStart))
		ne.PutUint16(h[8:], uint16(o.CsumOffset))
	}
	if o.GSO == pkt.GSONone || n <= o.HdrLen+o.GSOSize {
		return
	}
	if o.GSO == pkt.GSOTCPv6 {
		h[1] = vnetGSOTCPv6
	} else {
		h[1] = vnetGSOTCPv4
	}
	ne.PutUint16(h[2:], uint16(o.HdrLen))
	ne.PutUint16(h[4:], uint16(o.GSOSize))
}

// waitRoom makes room for n bytes, with txMu held, in the full ring whose
// head is h, and returns where they go. If the writer goroutine is not in
// the middle of a write, Transmit does the next write itself (as the
// synchronous driver did), so that a full ring never waits for the writer
// goroutine to be scheduled; otherwise it waits for that write to end. It
// reports false if no room was freed within fullWait, or at once if the
// last wait already timed out with the writer still in the same write.
func (d *Device) waitRoom(h uint64, n int) (uint64, bool) {
	armed := false
	defer func() {
		if armed {
			d.waiting.Store(false)
			d.timer.Stop()
		}
	}()
	for {
		if start, ok := d.tx.place(h, d.tail.Load(), n); ok {
			return start, true
		}
		if d.wMu.TryLock() {
			_, stop := d.sendOne()
			d.wMu.Unlock()
			if stop {
				return 0, false
			}
			continue
		}
		if d.stalledAt.Load() == d.tail.Load()+1 {
			return 0, false
		}
		if !armed {
			armed = true
			d.waiting.Store(true)
			d.timer.Reset(fullWait)
			continue // the write may have ended meanwhile
		}
		select {
		case <-d.space:
		case <-d.timer.C:
			if start, ok := d.tx.place(h, d.tail.Load(), n); ok {
				return start, true
			}
			d.stalledAt.Store(d.tail.Load() + 1)
			return 0, false
		case <-d.stop:
			return 0, false
		}
	}
}

// SetTxRoom implements netif.TxRoomNotifier. After Transmit returned
// ErrBusy, f runs on the writer goroutine, holding none of the driver's
// locks, once the ring is down to half of its frames and bytes.
func (d *Device) SetTxRoom(f func()) bool {
	if f == nil {
		d.room.Store(nil)
	} else {
		d.room.Store(&f)
	}
	return true
}

// halfFree reports whether the ring is down to half of its frames and
// half of its bytes.
func (d *Device) halfFree() bool {
	d.txMu.Lock()
	defer d.txMu.Unlock()
	t, h := d.tail.Load(), d.head.Load()
	if t == h {
		return true
	}
	r := &d.tx
	return h-t <= r.n/2 && r.wpos-r.recs[t%r.n].start <= uint64(len(r.buf))/2
}

// writeLoop is the writer goroutine: it sends the frames of the ring in
// order, one write per frame, and reports room after a refusal.
func (d *Device) writeLoop() {
	defer close(d.wdone)
	for {
		d.wMu.Lock()
		sent, stop := d.sendOne()
		d.wMu.Unlock()
		if stop {
			return
		}
		if d.wantRoom.Load() && d.halfFree() && d.wantRoom.Swap(false) {
			if f := d.room.Load(); f != nil {
				(*f)()
			}
		}
		if !sent {
			select {
			case <-d.kick:
			case <-d.stop:
				return
			}
		}
	}
}

// sendOne makes the next write from the ring, with wMu held. It reports
// whether there was anything to send, and whether the device is closed.
func (d *Device) sendOne() (sent, stop bool) {
	t, h := d.tail.Load(), d.head.Load()
	if t == h {
		return false, d.closed.Load()
	}
	f := d.tx.frame(t)
	n := len(f)
	d.niov = 0
	d.add(f)
	d.written, d.werr = 0, 0
	err := d.rc.Write(d.writevF)
	d.tail.Store(t + 1)
	if d.waiting.Load() {
		select {
		case d.space <- struct{}{}:
		default:
		}
	}
	switch {
	case err != nil:
		if d.closed.Load() || errors.Is(err, os.ErrClosed) {
			return true, true
		}
		d.ctr.TxErrors.Add(1)
		d.setErr(fmt.Errorf("tap: %w", err))
	case d.werr == unix.EIO:
		// The kernel drops frames written to an interface that is down.
		d.linkDown.Store(true)
		d.ctr.TxDropped.Add(1)
	case d.werr != 0:
		d.ctr.TxErrors.Add(1)
		d.setErr(fmt.Errorf("tap: writev: %w", d.werr))
	case d.written != n:
		d.ctr.TxErrors.Add(1)
		d.setErr(fmt.Errorf("tap: short write (%d of %d bytes)", d.written, n))
	default:
		d.linkDown.Store(false)
	}
	return true, false
}

// setErr records the writer's last error (see LastTxError).
func (d *Device) setErr(err error) { d.lastErr.Store(&err) }

// LastTxError returns the last error the writer goroutine met sending a
// frame, or nil. Transmit returns before the frame is written, so such
// errors are only counted (TxErrors) and recorded here.
func (d *Device) LastTxError() error {
	if p := d.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (d *Device) add(p []byte) {
	if len(p) == 0 {
		return
	}
	d.iov[d.niov].Base = &p[0]
	d.iov[d.niov].SetLen(len(p))
	d.niov++
}

// writev runs under the poller (RawConn.Write): returning false on EAGAIN
// parks the goroutine until the fd is writable.
func (d *Device) writev(fd uintptr) bool {
	for {
		var n uintptr
		var e unix.Errno
		if d.niov == 1 {
			n, _, e = unix.Syscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(d.iov[0].Base)), uintptr(d.iov[0].Len))
		} else {
			n, _, e = unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&d.iov[0])), uintptr(d.niov))
		}
		switch e {
		case unix.EAGAIN:
			return false
		case unix.EINTR:
			continue
		}
		d.written, d.werr = int(n), e
		return true
	}
}
