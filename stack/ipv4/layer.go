// Package ipv4 is the stack's IPv4 layer (RFC 791, RFC 1122 §3.2.1): a
// checked header view and encoder, input validation and demultiplexing to
// transports, output with routing (on-link or one default gateway) and
// fragmentation, and reassembly with bounded memory. It is a host, not a
// router: datagrams not addressed to us are dropped, never forwarded.
//
// Every method runs with the stack lock held (docs/INTERNALS.md); the layer
// takes no lock of its own.
//
// Not supported: forwarding, multicast group membership (multicast
// destinations are dropped), sending IP options, following source routes
// (such datagrams are dropped), more than one address or route.
package ipv4

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

// Output errors.
var (
	ErrNoRoute        = errors.New("ipv4: no route to host")
	ErrNoAddress      = errors.New("ipv4: no source address configured")
	ErrMessageTooLong = errors.New("ipv4: message too long") // EMSGSIZE
	ErrMTU            = errors.New("ipv4: MTU out of range") // SetMTU
)

// Link is the layer below: it delivers a datagram to an on-link next hop.
// The ARP layer implements it.
type Link interface {
	Output(nextHop inet.Addr4, b *pkt.Buf) error
	Headroom() int
	MTU() int
	// Offloads are the device's (netif.Offloads): Write lets a TSO
	// segment past the MTU, up to TSO4Max.
	Offloads() netif.Offloads
}

// ICMPSender sends ICMP errors about received datagrams; the icmp layer
// implements it. offending is the whole datagram as received (for a
// reassembly timeout: the first fragment). It applies the RFC 1122
// §3.2.2 rules and the rate limit itself.
type ICMPSender interface {
	SendUnreachable(code uint8, offending Header)
	SendTimeExceeded(code uint8, offending Header)
}

// ICMP codes the IP layer asks for.
const (
	CodeProtoUnreachable = 2 // destination unreachable, RFC 792
	CodePortUnreachable  = 3 // destination unreachable, RFC 792
	CodeReasmTimeout     = 1 // time exceeded: fragment reassembly time exceeded
)

// Config holds the layer's settings; zero values pick the defaults.
type Config struct {
	// Rand seeds the IP ID counter; nil leaves it at 0 (tests only).
	Rand io.Reader
	// TTL is the default time-to-live; 0 means 64.
	TTL uint8
	// AcceptUnspecifiedSource accepts datagrams from 0.0.0.0 (a DHCP
	// server hearing clients, RFC 2131 §4.1).
	AcceptUnspecifiedSource bool
	// AcceptAnyDst accepts datagrams to any unicast destination. While no
	// address is configured, UDP to any destination is accepted anyway
	// (DHCP client, RFC 1122 §3.3.6 / RFC 2131 §4.1).
	AcceptAnyDst bool
	// ReasmTimeout is how long a partial datagram is kept; 0 means 30s.
	// RFC 1122 §3.3.2 suggests 60-120s; 30s (as Linux) bounds memory held
	// by attackers sooner and is ample on a LAN.
	ReasmTimeout time.Duration
	// ReasmMemory caps the bytes held by partial datagrams; 0 means 256 KiB.
	ReasmMemory int
	// ReasmDatagrams caps concurrent partial datagrams; 0 means 64.
	ReasmDatagrams int
}

// Layer is the IPv4 layer of one interface.
type Layer struct {
	link  Link
	q     *timer.Queue
	cfg   Config
	addr  inet.Prefix4
	gw    inet.Addr4
	mtu   int // set by SetMTU; 0: the link's
	icmp  ICMPSender
	id    uint16
	proto [256]transport.Receiver
	pkt   transport.Packet
	ce    transport.ControlError
	stats Stats
	reasm reassembler

	fragPool *pkt.Pool // fragmentation output buffers, made on first use
}

// New returns a layer sending through link. Its reassembly timers run on q.
func New(link Link, q *timer.Queue, cfg Config) *Layer {
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.ReasmTimeout <= 0 {
		cfg.ReasmTimeout = 30 * time.Second
	}
	if cfg.ReasmMemory <= 0 {
		cfg.ReasmMemory = 256 << 10
	}
	if cfg.ReasmDatagrams <= 0 {
		cfg.ReasmDatagrams = 64
	}
	l := &Layer{link: link, q: q, cfg: cfg}
	if cfg.Rand != nil {
		var b [2]byte
		if _, err := io.ReadFull(cfg.Rand, b[:]); err == nil {
			l.id = uint16(b[0])<<8 | uint16(b[1])
		}
	}
	l.reasm.init(l)
	return l
}

// Register sets the receiver for proto, replacing any previous one; nil
// unregisters. stack.New registers ICMP, UDP and TCP.
func (l *Layer) Register(proto uint8, t transport.Receiver) { l.proto[proto] = t }

// SetICMP sets the hook that sends ICMP errors.
func (l *Layer) SetICMP(s ICMPSender) { l.icmp = s }

// SetAddr sets our address and on-link prefix.
func (l *Layer) SetAddr(p inet.Prefix4) { l.addr = p }

// Addr returns our address and prefix (zero when unconfigured).
func (l *Layer) Addr() inet.Prefix4 { return l.addr }

// SetGateway sets the default gateway (zero: none).
func (l *Layer) SetGateway(a inet.Addr4) { l.gw = a }

// Gateway returns the default gateway.
func (l *Layer) Gateway() inet.Addr4 { return l.gw }

// Headroom is the headroom a transport reserves: the link's plus 20. It
// implements transport.Network.
func (l *Layer) Headroom() int { return l.link.Headroom() + HeaderLen }

// Offloads implements transport.Network: the device's, which TCP reads to
// leave checksums to it and hand it TSO segments.
func (l *Layer) Offloads() netif.Offloads { return l.link.Offloads() }

// MTU is the IP MTU: the largest datagram, header included, sent without
// fragmentation, to any destination (dst is not looked at: one link, one
// MTU). It is the link MTU unless SetMTU lowered it. It implements
// transport.Network.
func (l *Layer) MTU(dst inet.Addr) int { return l.mtu4() }

func (l *Layer) mtu4() int {
	if l.mtu > 0 {
		return l.mtu
	}
	return l.link.MTU()
}

// SetMTU sets the IP MTU (e.g. a DHCP lease's interface MTU, RFC 2132
// §5.1): larger datagrams are fragmented, or refused with DontFragment.
// It must be in MinSetMTU..link MTU; the link MTU, or 0, restores the
// link's. Out of range it returns an error wrapping ErrMTU and changes
// nothing. Transports that size segments by the MTU (TCP) must be told
// too: use stack.Stack.SetMTU.
func (l *Layer) SetMTU(mtu int) error {
	lm := l.link.MTU()
	switch {
	case mtu == 0 || mtu == lm:
		l.mtu = 0
	case mtu < MinSetMTU || mtu > lm:
		return xerr.Wrap("ipv4: MTU "+strconv.Itoa(mtu)+" not in "+strconv.Itoa(MinSetMTU)+".."+strconv.Itoa(lm), ErrMTU)
	default:
		l.mtu = mtu
	}
	return nil
}

// StatsLocked returns a snapshot of the counters.
func (l *Layer) StatsLocked() Stats {
	s := l.stats
	s.ReasmPending = uint64(l.reasm.count)
	s.ReasmMemory = uint64(l.reasm.mem)
	return s
}

// IsLocal reports whether a is our configured address.
func (l *Layer) IsLocal(a inet.Addr4) bool { return !a.IsUnspecified() && a == l.addr.Addr }

// IsBroadcast reports whether a is the limited broadcast or our subnet's
// directed broadcast (RFC 1122 §3.2.1.3; not for /31 and /32, RFC 3021).
func (l *Layer) IsBroadcast(a inet.Addr4) bool {
	if a.IsBroadcast() {
		return true
	}
	return l.hasSubnetBroadcast() && a == l.addr.SubnetBroadcast()
}

func (l *Layer) hasSubnetBroadcast() bool {
	return !l.addr.Addr.IsUnspecified() && l.addr.Bits > 0 && l.addr.Bits < 31
}

// Source returns the source address for a datagram to dst: our address,
// or 0.0.0.0 for a broadcast while unconfigured (DHCP, RFC 2131 §4.1). It
// implements transport.Network; a dst that is not IPv4 gives
// transport.ErrAddrFamily.
func (l *Layer) Source(dst inet.Addr) (inet.Addr, error) {
	if !dst.Is4() {
		return inet.Addr{}, transport.ErrAddrFamily
	}
	a, err := l.source4(dst.As4())
	return inet.AddrFrom4(a), err
}

func (l *Layer) source4(dst inet.Addr4) (inet.Addr4, error) {
	if !l.addr.Addr.IsUnspecified() {
		return l.addr.Addr, nil
	}
	if dst.IsBroadcast() {
		return inet.IPv4Unspecified, nil
	}
	return inet.IPv4Unspecified, ErrNoAddress
}
