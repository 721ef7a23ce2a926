package icmp

import (
	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

// SendEcho sends an echo request (RFC 792) to dst carrying data. It is
// called with the stack lock held; replies reach the OnEchoReply hook.
func (l *Layer) SendEcho(dst inet.Addr4, id, seq uint16, data []byte) error {
	b := l.buf
	b.Reset(l.ip.Headroom())
	h := b.Append(HeaderLen)
	(&Fields{Type: TypeEchoRequest, Rest: Echo(id, seq)}).Encode(h)
	SetChecksum(h, checksum.Sum(data, 0))
	b.Attach(data)
	if err := l.ip.Write(inet.Addr{}, inet.AddrFrom4(dst), inet.ProtoICMP, b, transport.WriteOptions{}); err != nil {
		l.stats.SendErrors++
		return err
	}
	l.stats.EchoRequestsOut++
	return nil
}

// SetOnEchoReply replaces the hook called for every echo reply received;
// call it with the stack lock held.
func (l *Layer) SetOnEchoReply(f func(from inet.Addr4, id, seq uint16, data []byte)) {
	l.cfg.OnEchoReply = f
}
