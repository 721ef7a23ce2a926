package udp

import (
	"encoding/binary"
	"io"
	"net/netip"
	"sync"
	"syscall"

	"github.com/mirago/mirago/internal/blockpool"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

// Errors returned by the socket API: transport.Errors, each matching its
// errno with errors.Is, as TCP's do.
var (
	ErrPortInUse   = &transport.Error{Msg: "udp: port already bound", Errno: syscall.EADDRINUSE}
	ErrNoPorts     = &transport.Error{Msg: "udp: no free ephemeral port", Errno: syscall.EADDRNOTAVAIL}
	ErrTooLarge    = &transport.Error{Msg: "udp: datagram too large", Errno: syscall.EMSGSIZE}
	ErrNoAddress   = &transport.Error{Msg: "udp: destination address required", Errno: syscall.EDESTADDRREQ}
	ErrBroadcast   = &transport.Error{Msg: "udp: sending to broadcast needs SetBroadcast(true)", Errno: syscall.EACCES}
	ErrUnreachable = &transport.Error{Msg: "udp: destination unreachable (ICMP)", Errno: syscall.ECONNREFUSED}
)

// Config holds the layer's settings; zero values pick the defaults.
type Config struct {
	// RecvBuffer bounds the memory one socket's receive queue holds, in
	// bytes (default 256 KiB; at least 2 KiB, at most 1 GiB). It counts
	// memory actually held ("truesize", as Linux charges skb->truesize
	// to sk_rmem_alloc), not payload: the queue is one ring per socket,
	// a power-of-two block from 2 KiB up to RecvBuffer that grows as
	// datagrams queue up and is given back when the queue drains, and
	// each datagram takes its payload plus an 8-byte record header. A
	// datagram whose record does not fit in RecvBuffer beside those
	// already queued is dropped and counted (Stats.DropQueueFull). So
	// with the default a socket holds at most 256 KiB, e.g. 177
	// full-size (1472-byte) datagrams or 4 of 65507 bytes (a 64 KiB
	// reassembled datagram needs RecvBuffer >= 65515), and an idle
	// socket holds nothing.
	RecvBuffer int
	// RecvQueue bounds the datagrams queued on one socket (default 512).
	RecvQueue int
	// EphemeralLow and EphemeralHigh bound the ephemeral port range
	// (default 49152-65535, RFC 6335 §6).
	EphemeralLow, EphemeralHigh uint16
	// Clock is what sockets' deadlines read (default the real clock;
	// stack.New gives the stack's, so tests run them in virtual time).
	Clock clock.Clock
}

func (c *Config) defaults() {
	if c.RecvBuffer <= 0 {
		c.RecvBuffer = 256 << 10
	}
	c.RecvBuffer = max(min(c.RecvBuffer, maxRecvBuffer), minBlock)
	if c.RecvQueue <= 0 {
		c.RecvQueue = 512
	}
	if c.EphemeralLow == 0 || c.EphemeralHigh < c.EphemeralLow {
		c.EphemeralLow, c.EphemeralHigh = 49152, 65535
	}
}

// Counters are the layer's event counters, kept per address family.
type Counters struct {
	InDatagrams    uint64 // delivered to a socket
	OutDatagrams   uint64
	NoPort         uint64 // no socket bound (port unreachable considered)
	DropShort      uint64
	DropLength     uint64
	DropChecksum   uint64
	DropQueueFull  uint64 // receive queue full (RecvQueue datagrams or RecvBuffer bytes)
	OutErrors      uint64
	ICMPErrors     uint64 // ICMP errors received about our datagrams
	ZeroChecksumIn uint64 // IPv4 datagrams received without a checksum (accepted, RFC 768)
	// DropZeroChecksum counts IPv6 datagrams without a checksum: the
	// checksum is mandatory over IPv6 (RFC 8200 §8.1), so they are
	// dropped (the tunnel exceptions of RFC 6935 do not apply to us).
	DropZeroChecksum uint64
}

func (c *Counters) add(o *Counters) {
	c.InDatagrams += o.InDatagrams
	c.OutDatagrams += o.OutDatagrams
	c.NoPort += o.NoPort
	c.DropShort += o.DropShort
	c.DropLength += o.DropLength
	c.DropChecksum += o.DropChecksum
	c.DropQueueFull += o.DropQueueFull
	c.OutErrors += o.OutErrors
	c.ICMPErrors += o.ICMPErrors
	c.ZeroChecksumIn += o.ZeroChecksumIn
	c.DropZeroChecksum += o.DropZeroChecksum
}

// Stats are the layer's counters.
type Stats struct {
	// Counters are both families' (IPv4's are these less IPv6's).
	Counters
	// IPv6 is the IPv6 share of Counters.
	IPv6        Counters
	OpenSockets uint64
	// RecvMemory is the receive queue memory all sockets hold now (the
	// blocks their rings occupy; each socket's share is at most
	// Config.RecvBuffer). A gauge.
	RecvMemory int
	// PoolMemory is the memory of the free ring blocks the layer keeps
	// for reuse (at most one per size class). A gauge.
	PoolMemory int
}

// Layer is the UDP protocol instance of one stack.
type Layer struct {
	ip      transport.Network
	lock    sync.Locker
	rand    io.Reader
	cfg     Config
	ports   map[uint16]portSlot
	sockets int // bound sockets (a dual one fills two slots)
	pool    *pkt.Pool
	rxMem   *blockpool.Pool // receive queue rings
	cnt     [2]Counters     // by family (fam)
	rxBytes int             // Stats.RecvMemory
}

// fam is the index of a's family in Layer.cnt: 0 for IPv4, 1 for IPv6.
func fam(a inet.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// New returns a UDP layer sending through ip (stack.New gives it one for
// every address family and registers the layer with each network layer).
// lock is the stack lock.
func New(ip transport.Network, lock sync.Locker, rand io.Reader, cfg Config) *Layer {
	cfg.defaults()
	return &Layer{
		ip: ip, lock: lock, rand: rand, cfg: cfg,
		ports: make(map[uint16]portSlot),
		pool:  pkt.NewPool(2048),
		rxMem: blockpool.New(minBlock, cfg.RecvBuffer),
	}
}

// StatsLocked returns a snapshot of the counters; call it with the stack lock
// held, like the other layers' StatsLocked.
func (l *Layer) StatsLocked() Stats {
	s := Stats{Counters: l.cnt[0], IPv6: l.cnt[1]}
	s.Counters.add(&l.cnt[1])
	s.OpenSockets = uint64(l.sockets)
	s.RecvMemory = l.rxBytes
	s.PoolMemory = l.rxMem.Spare()
	return s
}

// Deliver implements transport.Receiver: it hands a datagram to the
// socket bound to its destination port, or answers port unreachable.
func (l *Layer) Deliver(p *transport.Packet) {
	cnt := &l.cnt[fam(p.Src)]
	if len(p.Payload) < HeaderLen {
		cnt.DropShort++
		return
	}
	h, err := ParseHeader(p.Payload)
	if err != nil {
		cnt.DropLength++
		return
	}
	switch {
	case h.Checksum() == 0 && !p.Src.Is4():
		// RFC 8200 §8.1: an IPv6 receiver discards a zero checksum.
		cnt.DropZeroChecksum++
		return
	case h.Checksum() == 0:
		cnt.ZeroChecksumIn++
	case !p.CsumVerified && !h.ValidChecksum(p.Src, p.Dst):
		cnt.DropChecksum++
		return
	}
	c := l.ports[h.DstPort()].sock(p.Dst)
	if c != nil && !c.accepts(p, h) {
		c = nil
	}
	if c == nil {
		cnt.NoPort++
		// RFC 1122 §4.1.3.1: port unreachable, except for broadcasts
		// (the ICMP layer re-checks the §3.2.2 rules).
		if !p.Broadcast {
			l.ip.PortUnreachable(p)
		}
		return
	}
	if !c.enqueue(p.Src, h.SrcPort(), h.Payload()) {
		cnt.DropQueueFull++
		return
	}
	cnt.InDatagrams++
}

// Error implements transport.Receiver. A destination unreachable (of any
// kind) about a datagram sent by a connected socket is reported on its
// next Read, as BSD sockets do for connected UDP.
func (l *Layer) Error(e *transport.ControlError) {
	l.cnt[fam(e.Dst)].ICMPErrors++
	q := e.Quoted
	if len(q) < 4 {
		return // the quoted ports are not there
	}
	sport := binary.BigEndian.Uint16(q[0:2])
	dport := binary.BigEndian.Uint16(q[2:4])
	c := l.ports[sport].sock(e.Src)
	if c == nil || !c.connected {
		return
	}
	if c.rport != dport || c.remote != e.Dst {
		return
	}
	if e.Kind.IsUnreachable() {
		c.setError(ErrUnreachable)
	}
}

// send builds and writes one datagram. Called with the lock held.
func (l *Layer) send(c *Conn, p []byte, to netip.AddrPort) error {
	dst := inet.AddrFromNetip(to.Addr())
	if !c.takes(dst) {
		return transport.ErrAddrFamily
	}
	if len(p) > 65535-HeaderLen-transport.NetworkHeaderLen(dst) {
		return ErrTooLarge
	}
	if dst.Is4() && dst.As4().IsBroadcast() && !c.broadcast {
		return ErrBroadcast
	}
	src := c.local
	if src.IsUnspecified() {
		s, err := l.ip.Source(dst)
		if err != nil && !c.anySource {
			return err
		}
		if err != nil {
			// No address yet: a DHCP client sends from 0.0.0.0 (RFC
			// 2131 §4.1). Once addressed it uses the address (renewal).
			s = inet.AnyIPv4
		}
		src = s
	}
	head := l.ip.Headroom() + HeaderLen
	var b *pkt.Buf
	if head+len(p) <= l.pool.Size() {
		b = l.pool.Get(head)
		defer l.pool.Put(b)
	} else {
		b = pkt.New(head+len(p), head) // oversized: fragmented below us
	}
	copy(b.Append(len(p)), p)
	hdr, err := b.Prepend(HeaderLen)
	if err != nil {
		return err
	}
	f := Fields{SrcPort: c.port, DstPort: to.Port(), Length: uint16(HeaderLen + len(p))}
	f.Encode(hdr)
	SetChecksum(b.Bytes(), src, dst)
	cnt := &l.cnt[fam(dst)]
	if err := l.ip.Write(src, dst, inet.ProtoUDP, b, transport.WriteOptions{TTL: c.ttl}); err != nil {
		cnt.OutErrors++
		return err
	}
	cnt.OutDatagrams++
	return nil
}
