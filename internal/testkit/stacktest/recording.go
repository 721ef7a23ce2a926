package stacktest

import (
	"sync"

	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/tcp"
)

// SentIP is one IPv4 datagram a RecordingPort sent.
type SentIP struct {
	Proto    uint8
	TotalLen int  // bytes of IP: header and payload
	Frag     bool // a fragment (MF set or an offset)
	SYN      bool // a TCP SYN (unfragmented TCP only, as the fields below)
	MSS      int  // the SYN's MSS option, 0 if none
	Payload  int  // TCP payload bytes
}

// RecordingPort is a device that records the IPv4 datagrams it sends,
// parsed with the stack's own header parsers.
type RecordingPort struct {
	netif.Device
	mu  sync.Mutex
	out []SentIP
}

// NewRecordingPort records what is sent through d.
func NewRecordingPort(d netif.Device) *RecordingPort { return &RecordingPort{Device: d} }

// Transmit records b's IPv4 datagram, if it carries one, and sends it.
func (p *RecordingPort) Transmit(b *pkt.Buf) error {
	f := make([]byte, b.Len())
	b.CopyTo(f)
	if fr, err := ethernet.ParseFrame(f); err == nil && fr.Type() == inet.EtherTypeIPv4 {
		if h, err := ipv4.ParseHeader(fr.Payload()); err == nil {
			o := SentIP{Proto: h.Protocol(), TotalLen: len(h), Frag: h.IsFragment()}
			if o.Proto == inet.ProtoTCP && !o.Frag {
				if th, err := tcp.ParseHeader(h.Payload()); err == nil {
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
		}
	}
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
