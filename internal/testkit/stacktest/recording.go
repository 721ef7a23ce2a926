package stacktest

import (
	"sync"

	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/tcp"
)

// SentIP is one IPv4 datagram or IPv6 packet a RecordingPort sent.
type SentIP struct {
	V6       bool // IPv6 (Proto is then the upper-layer protocol)
	Proto    uint8
	TotalLen int  // bytes of IP: header and payload
	Frag     bool // a fragment (MF set or an offset; for IPv6, a Fragment header)
	SYN      bool // a TCP SYN (unfragmented TCP only, as the fields below)
	MSS      int  // the SYN's MSS option, 0 if none
	Payload  int  // TCP payload bytes
}

// RecordingPort is a device that records the IPv4 datagrams and IPv6
// packets it sends, parsed with the stack's own header parsers.
type RecordingPort struct {
	netif.Device
	mu  sync.Mutex
	out []SentIP
}

// NewRecordingPort records what is sent through d.
func NewRecordingPort(d netif.Device) *RecordingPort { return &RecordingPort{Device: d} }

// Transmit records b's IPv4 datagram or IPv6 packet, if it carries one,
// and sends it.
func (p *RecordingPort) Transmit(b *pkt.Buf) error {
	f := make([]byte, b.Len())
	b.CopyTo(f)
	fr, err := ethernet.ParseFrame(f)
	if err != nil {
		return p.Device.Transmit(b)
	}
	var o SentIP
	var upper []byte
	switch fr.Type() {
	case inet.EtherTypeIPv4:
		h, err := ipv4.ParseHeader(fr.Payload())
		if err != nil {
			return p.Device.Transmit(b)
		}
		o = SentIP{Proto: h.Protocol(), TotalLen: len(h), Frag: h.IsFragment()}
		upper = h.Payload()
	case inet.EtherTypeIPv6:
		h, err := ipv6.ParseHeader(fr.Payload())
		if err != nil {
			return p.Device.Transmit(b)
		}
		proto, off, _ := ipv6.UpperLayer(h, 8)
		o = SentIP{V6: true, Proto: proto, TotalLen: len(h), Frag: h.NextHeader() == inet.ProtoFragment}
		upper = h[off:]
	default:
		return p.Device.Transmit(b)
	}
	if o.Proto == inet.ProtoTCP && !o.Frag {
		if th, err := tcp.ParseHeader(upper); err == nil {
			o.Payload = len(th.Payload())
			if o.SYN = th.Flags()&tcp.FlagSYN != 0; o.SYN {
				opts, _ := tcp.ParseOptions(th.Options())
				o.MSS = int(opts.MSS)
			}
		}
	}
	p.mu.Lock()
	p.out = append(p.out, o)
	p.mu.Unlock()
	return p.Device.Transmit(b)
}

// Take returns and forgets the datagrams sent so far.
func (p *RecordingPort) Take() []SentIP {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.out
	p.out = nil
	return o
}
