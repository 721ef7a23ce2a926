// Package icmp is the stack's ICMP layer (RFC 792, RFC 1122 §3.2.2): it
// answers echo requests, hands received errors to the transport that sent
// the quoted datagram (through ipv4.Layer.DeliverError), and sends
// rate-limited destination unreachable and time exceeded errors.
//
// Like every layer it runs with the stack lock held and takes no lock.
//
// Not supported: sending echo requests (Ping), reflecting record-route or
// timestamp options in echo replies (RFC 1122 §3.2.2.6 SHOULD), acting on
// redirects (counted and ignored), timestamp and address-mask messages.
package icmp

import (
	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/internal/ratelimit"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/transport"
)

// MaxQuote is the most payload an error quotes after the IP header: an
// error then fits in 576 bytes (RFC 1812 §4.3.2.3: 576 - 20 - 8 = 548
// bytes of quoted datagram, IP header included; we count the payload
// after a 20-byte header, so a quote with options may exceed 576 a bit).
const MaxQuote = 528

// Config holds the layer's settings; zero values pick the defaults.
type Config struct {
	// Rate is how many errors may be sent per second; 0 means 10, at most 10^6.
	Rate int
	// Burst is the token bucket size; 0 means 10.
	Burst int
	// Quote is how many payload bytes after the offending IP header an
	// error quotes; 0 means 8 (RFC 792's minimum). At most MaxQuote.
	Quote int
	// OnEchoReply, if set, is called for every echo reply received (for a
	// future Ping); data is valid only during the call.
	OnEchoReply func(from inet.Addr4, id, seq uint16, data []byte)
}

// IP is what ICMP needs from the IPv4 layer; *ipv4.Layer implements it.
type IP interface {
	// Write, Headroom: as transport.Network.
	Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error
	Headroom() int
	// IsLocal and IsBroadcast classify an address against our own.
	IsLocal(a inet.Addr4) bool
	IsBroadcast(a inet.Addr4) bool
	// DeliverError hands a received error to the transport it quotes.
	DeliverError(typ, code uint8, mtu uint16, from inet.Addr4, quoted ipv4.Header)
}

// Layer is the ICMP layer of one stack.
type Layer struct {
	ip    IP
	q     *timer.Queue
	cfg   Config
	buf   *pkt.Buf // reply and error buffer; Write does not keep it
	stats Stats

	bucket ratelimit.Bucket // errors sent
}

// New returns a layer sending through ip. stack.New registers it with the
// IPv4 layer as protocol 1 and as its ICMP error sender (ipv4.ICMPSender).
func New(ip IP, q *timer.Queue, cfg Config) *Layer {
	if cfg.Rate <= 0 {
		cfg.Rate = 10
	}
	cfg.Rate = min(cfg.Rate, 1_000_000) // keeps time.Second/Rate above zero
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	if cfg.Quote <= 0 {
		cfg.Quote = 8
	}
	cfg.Quote = min(cfg.Quote, MaxQuote)
	l := &Layer{ip: ip, q: q, cfg: cfg}
	l.bucket.Init(cfg.Rate, cfg.Burst, q.Now())
	l.buf = pkt.New(ip.Headroom()+HeaderLen+ipv4.MaxHeaderLen+MaxQuote, 0)
	return l
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
	if !m.ValidChecksum() {
		l.stats.DropChecksum++
		return
	}
	switch t := m.Type(); t {
	case TypeEchoRequest:
		l.stats.EchoRequestsIn++
		l.echo(p, m)
	case TypeEchoReply:
		l.stats.EchoRepliesIn++
		if l.cfg.OnEchoReply != nil {
			l.cfg.OnEchoReply(p.Src.As4(), m.ID(), m.Seq(), m.Body())
		}
	case TypeDestUnreachable, TypeTimeExceeded, TypeParamProblem, TypeSourceQuench:
		l.stats.ErrorsIn[t]++
		l.controlError(p, m)
	case TypeRedirect:
		// RFC 1122 §3.2.2.2 wants the route cache updated; we have one
		// gateway and no cache, so redirects are ignored.
		l.stats.ErrorsIn[t]++
	default:
		// RFC 1122 §3.2.2: silently discard unknown types.
		l.stats.DropUnknownType++
	}
}

// Error implements transport.Receiver. We never keep state about ICMP
// messages we sent, so errors about them are ignored.
func (l *Layer) Error(e *transport.ControlError) {}

// echo answers an echo request with the same identifier, sequence and
// data (RFC 792). The data is attached by reference: Write copies or sends
// it before returning. Requests to a broadcast address get no reply (RFC
// 1122 §3.2.2.6 allows either; silence defeats Smurf amplification).
func (l *Layer) echo(p *transport.Packet, m Message) {
	if p.Broadcast || p.Dst.IsMulticast() {
		l.stats.DropBroadcastEcho++
		return
	}
	b := l.buf
	b.Reset(l.ip.Headroom())
	h := b.Append(HeaderLen)
	(&Fields{Type: TypeEchoReply, Rest: m.Rest()}).Encode(h)
	body := m.Body()
	SetChecksum(h, checksum.Sum(body, 0))
	b.Attach(body)
	src := p.Dst
	if !l.ip.IsLocal(src.As4()) {
		src = inet.Addr{} // accepted via AcceptAnyDst: let ip choose
	}
	if err := l.ip.Write(src, p.Src, inet.ProtoICMP, b, transport.WriteOptions{TOS: p.TOS}); err != nil {
		l.stats.SendErrors++
		return
	}
	l.stats.EchoRepliesOut++
}

// controlError parses the datagram quoted in an error and hands it to ip,
// which maps its type and code for the transports. At least a whole IP
// header must be quoted (RFC 792 quotes it plus 8 bytes; the 8 may be
// missing, which the transport checks).
func (l *Layer) controlError(p *transport.Packet, m Message) {
	q, err := ipv4.ParseQuoted(m.Body())
	if err != nil {
		l.stats.DropBadQuote++
		return
	}
	var mtu uint16
	if m.Type() == TypeDestUnreachable && m.Code() == CodeFragNeeded {
		mtu = m.MTU()
	}
	l.ip.DeliverError(m.Type(), m.Code(), mtu, p.Src.As4(), q)
}
