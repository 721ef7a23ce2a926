package udp

import (
	"encoding/binary"
	"net/netip"

	"github.com/mirago/mirago/internal/blockpool"
	"github.com/mirago/mirago/stack/inet"
)

// Receive queue memory ("truesize" accounting).
//
// A socket's receive queue is one ring of bytes holding records: an
// 8-byte header (payload length, source port, source IPv4 address)
// followed by the payload; a datagram from an IPv6 source has a 24-byte
// header instead (see enqueue). The ring is a block from the layer's pool,
// sized in powers of two from minBlock up to Config.RecvBuffer (the last
// class is RecvBuffer itself); it grows (one copy) when a datagram does
// not fit and goes back to the pool when the queue drains. What a socket
// is charged, and what Config.RecvBuffer bounds, is the size of the block
// it holds: the memory it really keeps, not the payload bytes. So
//
//   - a socket never holds more than RecvBuffer bytes of queue memory,
//     whatever the datagram sizes (a flood of 1-byte datagrams costs 9
//     bytes each, not a 2 KiB buffer each);
//   - an idle socket holds none;
//   - a datagram is accepted iff the queued records plus its own fit in
//     RecvBuffer and fewer than RecvQueue datagrams are queued: with the
//     defaults (256 KiB, 512) that is 177 datagrams of 1472 bytes, 4 of
//     65507 bytes, and 512 of 1 byte (in an 8 KiB ring; 29127 without
//     the count bound).
//
// (The Go allocator rounds a block that is not a power of two, i.e. a
// RecvBuffer that is not, up to its size class or to whole 8 KiB pages.)
//
// Blocks are recycled by internal/blockpool, as in stack/tcp: the layer keeps one spare block
// per class (Stats.PoolMemory: at most the sum of the class sizes, under
// 2*RecvBuffer for a power-of-two RecvBuffer, 510 KiB with the default,
// once some socket has filled its queue) and puts the rest in a
// sync.Pool the garbage collector may empty. So steady state does not
// allocate, even for a socket whose queue fills and drains in bursts
// (growing its ring through the classes each time), and across GC cycles.

// minBlock is the smallest ring: it holds a full-size Ethernet datagram
// (1472 bytes) with its record header.
const minBlock = 2 << 10

// recHeader is the record header of a datagram from an IPv4 source;
// recHeader6 that of one from an IPv6 source, marked by wide in its first
// two bytes (never a payload length: UDP's length field bounds those to
// 65527).
const (
	recHeader  = 8
	recHeader6 = 24
	wide       = 0xffff
)

// maxRecvBuffer caps Config.RecvBuffer.
const maxRecvBuffer = 1 << 30

// recSize is the ring space a datagram of n payload bytes from an IPv4
// source takes.
func recSize(n int) int { return n + recHeader }

// recSizeFrom is the ring space a datagram of n payload bytes from src
// takes.
func recSizeFrom(src inet.Addr, n int) int {
	if src.Is4() {
		return n + recHeader
	}
	return n + recHeader6
}

// enqueue appends a datagram to c's receive queue, or reports false when
// it does not fit (lock held).
//
// The record header is, for an IPv4 source, [length][port][address4];
// for an IPv6 one, [wide][port][length][0 0][address16].
func (c *Conn) enqueue(src inet.Addr, port uint16, payload []byte) bool {
	l := c.l
	need := c.rused + recSizeFrom(src, len(payload))
	if c.qlen >= l.cfg.RecvQueue || need > l.cfg.RecvBuffer {
		return false
	}
	if c.rx == nil || need > len(c.rx.B) {
		c.grow(need)
	}
	var h [recHeader6]byte
	// len(payload) <= 65535-8: the UDP length field bounds it.
	hl := recHeader
	binary.BigEndian.PutUint16(h[0:], uint16(len(payload)))
	binary.BigEndian.PutUint16(h[2:], port)
	if src.Is4() {
		a := src.As4()
		copy(h[4:], a[:])
	} else {
		hl = recHeader6
		binary.BigEndian.PutUint16(h[0:], wide)
		binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
		a := src.As16()
		copy(h[8:], a[:])
	}
	b := c.rx.B
	off := c.rhead + c.rused
	if off >= len(b) {
		off -= len(b)
	}
	off = ringWrite(b, off, h[:hl])
	ringWrite(b, off, payload)
	c.rused = need
	c.qlen++
	if c.qlen == 1 {
		select {
		case c.readable <- struct{}{}:
		default:
		}
	}
	return true
}

// grow moves the queue into a block holding need bytes (lock held).
func (c *Conn) grow(need int) {
	l := c.l
	nb := l.rxMem.Get(l.rxMem.ClassFor(need))
	l.rxBytes += len(nb.B)
	if old := c.rx; old != nil {
		blockpool.GrowRing(nb.B, old.B, c.rhead, c.rused)
		l.rxBytes -= len(old.B)
		l.rxMem.Put(old)
	}
	c.rx, c.rhead = nb, 0
}

// dequeue copies the oldest datagram into p (truncating it) and removes
// it (lock held, queue not empty).
func (c *Conn) dequeue(p []byte) (int, netip.AddrPort) {
	b := c.rx.B
	var h [recHeader6]byte
	off := ringRead(h[:], b, c.rhead, recHeader)
	size, hl := int(binary.BigEndian.Uint16(h[0:])), recHeader
	port := binary.BigEndian.Uint16(h[2:])
	var from netip.AddrPort
	if size != wide {
		from = netip.AddrPortFrom(netip.AddrFrom4([4]byte(h[4:8])), port)
	} else {
		off = ringRead(h[recHeader:], b, off, recHeader6-recHeader)
		size, hl = int(binary.BigEndian.Uint16(h[4:])), recHeader6
		from = netip.AddrPortFrom(netip.AddrFrom16([16]byte(h[8:24])), port)
	}
	n := min(len(p), size)
	ringRead(p[:n], b, off, n)
	c.qlen--
	c.rused -= size + hl
	c.rhead += size + hl
	if c.rhead >= len(b) {
		c.rhead -= len(b)
	}
	if c.qlen == 0 {
		c.release()
	}
	return n, from
}

// release gives the ring back to the pool (lock held).
func (c *Conn) release() {
	if c.rx == nil {
		return
	}
	c.l.rxBytes -= len(c.rx.B)
	c.l.rxMem.Put(c.rx)
	c.rx, c.rhead, c.rused, c.qlen = nil, 0, 0, 0
}

// ringWrite copies src into ring b at off, wrapping; it returns the offset
// after it. src fits in the free space.
func ringWrite(b []byte, off int, src []byte) int {
	n := copy(b[off:], src)
	if n < len(src) {
		return copy(b, src[n:])
	}
	if off += n; off == len(b) {
		off = 0
	}
	return off
}

// ringRead copies the n bytes at off in ring b into dst[:n] (len(dst) >=
// n), wrapping; it returns the offset after them.
func ringRead(dst, b []byte, off, n int) int {
	m := copy(dst[:n], b[off:])
	if m < n {
		return copy(dst[m:n], b)
	}
	if off += m; off == len(b) {
		off = 0
	}
	return off
}
