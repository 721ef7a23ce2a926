// Package ipv6 is the stack's IPv6 layer (RFC 8200) for a host: a checked
// header view and extension-header codecs; input validation, a bounded
// walk of the extension-header chain and demultiplexing to transports;
// reassembly under memory caps (RFC 8200 §4.5, RFC 5722, RFC 6946, RFC
// 7112); output with source address selection (RFC 6724), a path MTU
// cache (RFC 8201) and fragmentation with unpredictable identifications
// (RFC 7739); the table of our addresses and of the multicast groups we
// joined. It never forwards.
//
// The layer below (Link) is Neighbor Discovery, which does next-hop
// determination and address resolution; stack/ndp and stack/mld manage
// the addresses' states and the groups through the ...Locked methods.
//
// Every method runs with the stack lock held (docs/INTERNALS.md); the
// layer takes no lock of its own.
//
// Not supported: forwarding, jumbograms (RFC 2675), following routing
// headers (a routing header with segments left is refused, RFC 5095 for
// type 0), IPsec headers (AH, ESP: unrecognised next headers), sending
// extension headers other than the Fragment header, flow labels (we send
// 0; RFC 6437 makes them optional), mobility.
package ipv6

import (
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/transport"
)

// Errors.
var (
	ErrNoAddress      = errors.New("ipv6: no usable source address")
	ErrMessageTooLong = errors.New("ipv6: message too long") // EMSGSIZE
	ErrMTU            = errors.New("ipv6: MTU out of range")
	ErrAddr           = errors.New("ipv6: not a usable unicast address")
	ErrTooManyAddrs   = errors.New("ipv6: address table full")
	ErrNoSuchAddr     = errors.New("ipv6: no such address")
	ErrGroup          = errors.New("ipv6: not a multicast group")
	ErrTooManyGroups  = errors.New("ipv6: multicast group table full")
	ErrNotJoined      = errors.New("ipv6: group not joined")
)

// Link is the layer below, implemented by Neighbor Discovery (as arp
// implements ipv4.Link): Output sends the packet b to dst, its final
// destination; the link does next-hop determination (RFC 4861 §5.2) and
// address resolution, and maps a multicast dst to 33:33:xx:xx:xx:xx (RFC
// 2464 §7) without resolution. It does not keep b.
type Link interface {
	Output(dst inet.Addr, b *pkt.Buf) error
	Headroom() int
	MTU() int
	// Offloads are the device's (netif.Offloads): Write lets a TSO
	// segment past the MTU, up to TSO6Max.
	Offloads() netif.Offloads
}

// ICMPSender sends ICMPv6 errors about received packets; the icmpv6
// layer implements it, applying RFC 4443 §2.4's rules (never about an
// error or to a source that is not one node; about a multicast
// destination only a Packet Too Big or a Parameter Problem code 2 for an
// option whose type starts with bits 10) and its rate limit. offending
// is the packet as received (for a reassembly timeout: the first
// fragment). The layer itself never asks for an error about a packet
// that came in a link-layer multicast or broadcast frame, except those
// the rules allow.
type ICMPSender interface {
	SendParamProblem(code uint8, pointer uint32, offending Header)
	SendUnreachable(code uint8, offending Header)
	SendTimeExceeded(code uint8, offending Header)
}

// ICMPv6 codes the layer asks for (RFC 4443, RFC 7112).
const (
	CodeHeaderField    = 0 // parameter problem: erroneous header field
	CodeUnknownNext    = 1 // parameter problem: unrecognized Next Header type
	CodeUnknownOption  = 2 // parameter problem: unrecognized IPv6 option
	CodeIncompleteHdrs = 3 // parameter problem: first fragment has an incomplete header chain (RFC 7112 §5)
	CodePortUnreach    = 4 // destination unreachable: port unreachable
	CodeReasmTimeout   = 1 // time exceeded: fragment reassembly time exceeded
)

// Config holds the layer's settings; zero values pick the defaults.
type Config struct {
	// Rand keys the fragment identification generator (RFC 7739); nil
	// leaves the key zero (tests only).
	Rand io.Reader
	// HopLimit is the default hop limit for unicast; 0 means 64.
	// Multicast goes out with 1 unless the sender asks otherwise (RFC
	// 3493 §5.2).
	HopLimit uint8
	// MaxExtHeaders caps the extension headers in one packet; 0 means 8.
	// More are dropped (RFC 8504 §5.3 lets a host limit them).
	MaxExtHeaders int
	// MaxChainLen caps the bytes of extension headers before the
	// upper-layer header; 0 means 1024.
	MaxChainLen int
	// MaxOptions caps the options other than padding in one Hop-by-Hop
	// or Destination Options header; 0 means 8 (Linux's
	// max_hbh_opts_number and max_dst_opts_number).
	MaxOptions int
	// ReasmTimeout is how long a partial packet is kept from its first
	// arriving fragment; 0 means 60s (RFC 8200 §4.5).
	ReasmTimeout time.Duration
	// ReasmMemory caps the bytes held by all partial packets; 0 means
	// 256 KiB.
	ReasmMemory int
	// ReasmPacketMemory caps the bytes one partial packet may hold; 0
	// means 128 KiB (a 65535-byte packet in fragments from a 1280-byte
	// link takes 53 chunks of 2 KiB).
	ReasmPacketMemory int
	// ReasmPackets caps concurrent partial packets; 0 means 64.
	ReasmPackets int
	// PMTUEntries caps the path MTU cache; 0 means 64.
	PMTUEntries int
	// PMTUTimeout is how long a lowered path MTU is kept before the
	// link MTU is tried again; 0 means 10 minutes (RFC 8201 §4).
	PMTUTimeout time.Duration
}

// Layer is the IPv6 layer of one interface.
type Layer struct {
	link  Link
	q     *timer.Queue
	cfg   Config
	mtu   int // set by SetMTU; 0: the link's
	icmp  ICMPSender
	proto [256]transport.Receiver
	pkt   transport.Packet
	ce    transport.ControlError
	stats Stats

	addrs  addrTable
	groups groupTable
	pmtu   pmtuCache
	reasm  reassembler
	fragID fragIDGen

	fragPool *pkt.Pool // fragmentation output buffers, made on first use
}

// New returns a layer sending through link. Its reassembly timers run on
// q. The all-nodes group ff02::1 is joined from the start and for good.
func New(link Link, q *timer.Queue, cfg Config) *Layer {
	if cfg.HopLimit == 0 {
		cfg.HopLimit = DefaultHopLimit
	}
	if cfg.MaxExtHeaders <= 0 {
		cfg.MaxExtHeaders = 8
	}
	if cfg.MaxChainLen <= 0 {
		cfg.MaxChainLen = 1024
	}
	if cfg.MaxOptions <= 0 {
		cfg.MaxOptions = 8
	}
	if cfg.ReasmTimeout <= 0 {
		cfg.ReasmTimeout = 60 * time.Second
	}
	if cfg.ReasmMemory <= 0 {
		cfg.ReasmMemory = 256 << 10
	}
	if cfg.ReasmPacketMemory <= 0 {
		cfg.ReasmPacketMemory = 128 << 10
	}
	cfg.ReasmPacketMemory = min(cfg.ReasmPacketMemory, cfg.ReasmMemory)
	if cfg.ReasmPackets <= 0 {
		cfg.ReasmPackets = 64
	}
	if cfg.PMTUEntries <= 0 {
		cfg.PMTUEntries = 64
	}
	if cfg.PMTUTimeout <= 0 {
		cfg.PMTUTimeout = 10 * time.Minute
	}
	l := &Layer{link: link, q: q, cfg: cfg}
	l.fragID.init(cfg.Rand)
	l.reasm.init(l)
	l.pmtu.init(cfg.PMTUEntries)
	l.groups.joinPermanent(inet.IPv6AllNodes)
	return l
}

// SetLink replaces the layer below (Neighbor Discovery, built after the
// layer it serves). Its headroom must not exceed the first link's: the
// transports sized their buffers by Headroom.
func (l *Layer) SetLink(link Link) { l.link = link }

// Register sets the receiver for proto, replacing any previous one; nil
// unregisters. stack.New registers ICMPv6, UDP and TCP.
func (l *Layer) Register(proto uint8, t transport.Receiver) { l.proto[proto] = t }

// SetICMP sets the hook that sends ICMPv6 errors.
func (l *Layer) SetICMP(s ICMPSender) { l.icmp = s }

// Headroom is the headroom a transport reserves: the link's plus 40. It
// implements transport.Network.
func (l *Layer) Headroom() int { return l.link.Headroom() + HeaderLen }

// Offloads implements transport.Network: the device's, which TCP reads to
// leave checksums to it and hand it TSO segments.
func (l *Layer) Offloads() netif.Offloads { return l.link.Offloads() }

// LinkMTU is the IPv6 MTU of the link: the device's unless SetMTU
// lowered it (an RA's MTU option, RFC 4861 §6.3.4).
func (l *Layer) LinkMTU() int {
	if l.mtu > 0 {
		return l.mtu
	}
	return l.link.MTU()
}

// MTU is the path MTU toward dst: the link MTU, or less when a Packet Too
// Big lowered it (RFC 8201), never below 1280. It implements
// transport.Network.
func (l *Layer) MTU(dst inet.Addr) int {
	m := l.LinkMTU()
	if p := l.pmtu.lookup(dst, l.q.Now()); p > 0 && p < m {
		m = p
	}
	return m
}

// SetMTU sets the link's IPv6 MTU (an RA's MTU option, RFC 4861 §6.3.4:
// ignored unless in 1280..the device MTU). The device MTU, or 0, restores
// it. Out of range it returns an error wrapping ErrMTU and changes
// nothing. Transports that size segments by the MTU (TCP) must be told
// too.
func (l *Layer) SetMTU(mtu int) error {
	lm := l.link.MTU()
	switch {
	case mtu == 0 || mtu == lm:
		l.mtu = 0
	case mtu < MinMTU || mtu > lm:
		return xerr.Wrap("ipv6: MTU "+strconv.Itoa(mtu)+" not in "+strconv.Itoa(MinMTU)+".."+strconv.Itoa(lm), ErrMTU)
	default:
		l.mtu = mtu
	}
	return nil
}

// SetHopLimitLocked sets the default hop limit of unicast packets: a
// router advertisement's Cur Hop Limit (RFC 4861 §6.3.4), which
// Neighbor Discovery passes on. 0 restores DefaultHopLimit.
func (l *Layer) SetHopLimitLocked(h uint8) {
	if h == 0 {
		h = DefaultHopLimit
	}
	l.cfg.HopLimit = h
}

// StatsLocked returns a snapshot of the counters.
func (l *Layer) StatsLocked() Stats {
	s := l.stats
	s.ReasmPending = uint64(l.reasm.count)
	s.ReasmMemory = uint64(l.reasm.mem)
	s.PMTUEntries = uint64(l.pmtu.count)
	return s
}
