// Package icmpv6 is the stack's ICMPv6 layer (RFC 4443): it answers echo
// requests, hands received errors to the transport that sent the quoted
// packet (through ipv6.Layer.DeliverError, with the one mapping of
// ICMPv6 types and codes to transport.ErrorKind), feeds Packet Too Big to
// the path MTU cache (RFC 8201), sends rate-limited errors under RFC 4443
// §2.4's rules, and passes Neighbor Discovery and MLD messages to the
// handlers registered for their types once their checksum holds.
//
// Like every layer it runs with the stack lock held and takes no lock.
//
// Not supported: node information queries (RFC 4620), router
// renumbering, errors of unknown types for the transports (counted and
// dropped: no transport.ErrorKind says what they mean).
package icmpv6

import (
	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/internal/ratelimit"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/transport"
)

// Config holds the layer's settings; zero values pick the defaults.
type Config struct {
	// Rate is how many errors may be sent per second; 0 means 10.
	Rate int
	// Burst is the token bucket size; 0 means 10.
	Burst int
	// Quote is how many bytes of the offending packet an error quotes;
	// 0 means MaxQuote (RFC 4443 §2.4 (c)), the most it may be.
	Quote int
	// IgnoreMulticastEcho leaves echo requests to a multicast group
	// unanswered (Linux's icmp_echo_ignore_multicast). By default they
	// are answered (RFC 4443 §4.2 SHOULD), each reply taking a token from
	// the error bucket, which bounds the amplification.
	IgnoreMulticastEcho bool
	// OnEchoReply, if set, is called for every echo reply received
	// (Stack.Ping); data is valid only during the call.
	OnEchoReply func(from inet.Addr, id, seq uint16, data []byte)
}

// IP is what ICMPv6 needs from the IPv6 layer; *ipv6.Layer implements it.
type IP interface {
	// Write, Headroom, Source: as transport.Network.
	Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error
	Headroom() int
	Source(dst inet.Addr) (inet.Addr, error)
	// IsLocal reports whether a is one of our addresses.
	IsLocal(a inet.Addr) bool
	// DeliverError hands a received error to the transport it quotes.
	DeliverError(kind transport.ErrorKind, mtu int, from inet.Addr, quoted ipv6.Header)
}

// Handler receives an informational message of a registered type (ND,
// MLD) whose checksum holds: p is the packet (p.TTL is the hop limit,
// p.Fragmented says it carried a Fragment header, RFC 6980) and m the
// message. Both are valid only during the call, made with the stack lock
// held.
type Handler func(p *transport.Packet, m Message)

// Layer is the ICMPv6 layer of one stack.
type Layer struct {
	ip       IP
	q        *timer.Queue
	cfg      Config
	buf      *pkt.Buf // reply and error buffer; Write does not keep it
	handlers [128]Handler
	bucket   ratelimit.Bucket
	stats    Stats
}

// New returns a layer sending through ip. stack.New registers it with
// the IPv6 layer as protocol 58 and as its ICMP error sender
// (ipv6.ICMPSender).
func New(ip IP, q *timer.Queue, cfg Config) *Layer {
	if cfg.Rate <= 0 {
		cfg.Rate = 10
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	if cfg.Quote <= 0 || cfg.Quote > MaxQuote {
		cfg.Quote = MaxQuote
	}
	l := &Layer{ip: ip, q: q, cfg: cfg}
	l.bucket.Init(cfg.Rate, cfg.Burst, q.Now())
	l.buf = pkt.New(ip.Headroom()+HeaderLen+MaxQuote, 0)
	return l
}

// Register makes h receive the messages of type typ (nil unregisters):
// Neighbor Discovery's (133-137) and MLD's (130-132, 143), or any other
// informational type but echo. It returns ErrType for error types and
// echo, which the layer handles itself.
func (l *Layer) Register(typ uint8, h Handler) error {
	if IsError(typ) || typ == TypeEchoRequest || typ == TypeEchoReply {
		return ErrType
	}
	l.handlers[typ-128] = h
	return nil
}

// SetOnEchoReply replaces the hook called for every echo reply received.
func (l *Layer) SetOnEchoReply(f func(from inet.Addr, id, seq uint16, data []byte)) {
	l.cfg.OnEchoReply = f
}

// StatsLocked returns a snapshot of the counters.
func (l *Layer) StatsLocked() Stats { return l.stats }

// Deliver implements transport.Receiver.
func (l *Layer) Deliver(p *transport.Packet) {
	l.stats.Received++
	m, err := ParseMessage(p.Payload)
	if err != nil {
		l.stats.DropShort++
		return
	}
	if !m.ValidChecksum(p.Src, p.Dst) {
		l.stats.DropChecksum++
		return
	}
	t := m.Type()
	var h Handler
	if !IsError(t) {
		h = l.handlers[t-128]
	}
	if h == nil && (p.Src.IsUnspecified() || l.ip.IsLocal(p.Src)) {
		// Only ND and MLD come from :: or from one of our addresses (a
		// duplicate, RFC 4862 §5.4.3-4), and ipv6 passes them on for
		// that alone.
		l.stats.DropSource++
		return
	}
	switch {
	case t == TypeEchoRequest:
		l.stats.EchoRequestsIn++
		l.echo(p, m)
	case t == TypeEchoReply:
		l.stats.EchoRepliesIn++
		if l.cfg.OnEchoReply != nil {
			l.cfg.OnEchoReply(p.Src, m.ID(), m.Seq(), m.Body())
		}
	case t >= TypeDestUnreachable && t <= TypeParamProblem:
		l.stats.ErrorsIn[t]++
		l.controlError(p, m)
	case IsError(t):
		// RFC 4443 §2.4 (b) wants unknown errors passed up; no kind
		// says what they mean to a transport.
		l.stats.DropUnknownError++
	case h != nil:
		l.stats.Handled++
		h(p, m)
	default:
		// RFC 4443 §2.4 (a): unknown informational messages are
		// silently discarded.
		l.stats.DropUnknownType++
	}
}

// Error implements transport.Receiver. We keep no state about ICMPv6
// messages we sent, so errors about them are ignored.
func (l *Layer) Error(e *transport.ControlError) {}

// echo answers an echo request with the same identifier, sequence and
// data (RFC 4443 §4.2), from the address it came to or, for a multicast
// one, the address Source picks. The data is attached by reference:
// Write copies or sends it before returning.
func (l *Layer) echo(p *transport.Packet, m Message) {
	src := p.Dst
	if src.IsMulticast() {
		if l.cfg.IgnoreMulticastEcho {
			l.stats.DropMulticastEcho++
			return
		}
		if !l.bucket.Allow(l.q.Now()) {
			l.stats.RateLimited++
			return
		}
		var err error
		if src, err = l.ip.Source(p.Src); err != nil {
			l.stats.SendErrors++
			return
		}
	}
	b := l.buf
	b.Reset(l.ip.Headroom())
	h := b.Append(HeaderLen)
	(&Fields{Type: TypeEchoReply, Rest: m.Rest()}).Encode(h)
	body := m.Body()
	SetChecksum(h, src, p.Src, len(body), checksum.Sum(body, 0))
	b.Attach(body)
	if err := l.ip.Write(src, p.Src, inet.ProtoICMPv6, b, transport.WriteOptions{TOS: p.TOS}); err != nil {
		l.stats.SendErrors++
		return
	}
	l.stats.EchoRepliesOut++
}

// ErrorKind maps an ICMPv6 error's type and code to the family-neutral
// kind the transports act on (RFC 4443 §3, as Linux's
// icmpv6_err_convert); ok is false for types that are not errors we
// know. This is the one place ICMPv6 types and codes are read for the
// transports.
func ErrorKind(typ, code uint8) (k transport.ErrorKind, ok bool) {
	switch typ {
	case TypeDestUnreachable:
		switch code {
		case CodeNoRoute:
			return transport.NetUnreachable, true
		case CodePortUnreachable:
			return transport.PortUnreachable, true
		case CodeProhibited, CodeSourcePolicy, CodeRejectRoute:
			return transport.Prohibited, true
		default: // beyond scope, address unreachable, unknown codes
			return transport.HostUnreachable, true
		}
	case TypePacketTooBig:
		return transport.PacketTooBig, true
	case TypeTimeExceeded:
		return transport.TimeExceeded, true
	case TypeParamProblem:
		if code == CodeUnknownNext {
			// The destination does not know the protocol we sent
			// (IPv4's protocol unreachable).
			return transport.ProtoUnreachable, true
		}
		return transport.ParamProblem, true
	}
	return 0, false
}

// controlError parses the packet quoted in an error and hands it to ip,
// which finds its transport. A Packet Too Big reporting an MTU under 1280
// is ignored (RFC 8201 §4: the path MTU never goes below it; RFC 8021
// retired the atomic fragments it once called for).
func (l *Layer) controlError(p *transport.Packet, m Message) {
	q, err := ipv6.ParseQuoted(m.Body())
	if err != nil {
		l.stats.DropBadQuote++
		return
	}
	kind, _ := ErrorKind(m.Type(), m.Code())
	mtu := 0
	if kind == transport.PacketTooBig {
		if m.Rest() < ipv6.MinMTU {
			l.stats.DropPTBTooSmall++
			return
		}
		mtu = int(min(m.Rest(), 1<<20))
	}
	l.ip.DeliverError(kind, mtu, p.Src, q)
}
