package icmpv6

import (
	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

// SendEcho sends an echo request (RFC 4443 §4.1) to dst carrying data,
// from the source address ip picks for dst. It is called with the stack
// lock held; replies reach the OnEchoReply hook.
func (l *Layer) SendEcho(dst inet.Addr, id, seq uint16, data []byte) error {
	src, err := l.ip.Source(dst)
	if err != nil {
		l.stats.SendErrors++
		return err
	}
	b := l.buf
	b.Reset(l.ip.Headroom())
	h := b.Append(HeaderLen)
	(&Fields{Type: TypeEchoRequest, Rest: Echo(id, seq)}).Encode(h)
	SetChecksum(h, src, dst, len(data), checksum.Sum(data, 0))
	b.Attach(data)
	if err := l.ip.Write(src, dst, inet.ProtoICMPv6, b, transport.WriteOptions{}); err != nil {
		l.stats.SendErrors++
		return err
	}
	l.stats.EchoRequestsOut++
	return nil
}
