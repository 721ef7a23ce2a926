package tap

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// Transmit implements netif.Device.Transmit. It sends the contiguous bytes
// and the attached payload with one writev, without copying.
func (d *Device) Transmit(b *pkt.Buf) error {
	if d.closed.Load() {
		return netif.ErrClosed
	}
	n := b.Len()
	if n > d.mtu+netif.EthernetHeaderLen {
		d.ctr.TxDropped.Add(1)
		return netif.ErrTooBig
	}
	d.txMu.Lock()
	defer d.txMu.Unlock()
	d.niov = 0
	d.add(b.Bytes())
	for _, p := range b.Attached() {
		d.add(p)
	}
	d.written, d.werr = 0, 0
	err := d.rc.Write(d.writevF)
	d.iov = [3]unix.Iovec{} // do not keep the caller's memory reachable
	switch {
	case err != nil:
		d.ctr.TxErrors.Add(1)
		if d.closed.Load() {
			return netif.ErrClosed
		}
		return fmt.Errorf("tap: %w", err)
	case d.werr == unix.EIO:
		// The kernel drops frames written to an interface that is down.
		d.linkDown.Store(true)
		d.ctr.TxDropped.Add(1)
		return netif.ErrLinkDown
	case d.werr != 0:
		d.ctr.TxErrors.Add(1)
		return fmt.Errorf("tap: writev: %w", d.werr)
	case d.written != n:
		d.ctr.TxErrors.Add(1)
		return fmt.Errorf("tap: short write (%d of %d bytes)", d.written, n)
	}
	d.linkDown.Store(false)
	d.ctr.CountTx(n)
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
	n, _, e := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&d.iov[0])), uintptr(d.niov))
	if e == unix.EAGAIN {
		return false
	}
	if e == unix.EINTR {
		return d.writev(fd)
	}
	d.written, d.werr = int(n), e
	return true
}
