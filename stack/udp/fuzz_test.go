package udp

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/mirago/mirago/stack/transport"
)

// FuzzUDPInput feeds arbitrary datagrams to a layer with one bound socket:
// parsing and delivery must never panic, and whatever is queued must be
// exactly the datagram's payload.
func FuzzUDPInput(f *testing.F) {
	f.Add(mkDatagram(5000, 7, "hello"))
	f.Add([]byte{0, 1, 0, 7, 0, 8, 0, 0})
	f.Add([]byte{0, 1, 0, 7, 0xff, 0xff, 0, 0, 1})
	f.Fuzz(func(t *testing.T, d []byte) {
		l := New(&fakeIP{}, &sync.Mutex{}, nil, Config{})
		c, _ := l.Bind(netip.AddrPortFrom(netip.Addr{}, 7))
		l.lock.Lock()
		l.Deliver(&transport.Packet{Src: peer, Dst: us, Header: d, Payload: d})
		n := c.qlen
		l.lock.Unlock()
		if n == 0 {
			return
		}
		h, err := ParseHeader(d)
		if err != nil {
			t.Fatalf("queued a datagram that does not parse: %v", err)
		}
		buf := make([]byte, 65536)
		m, _, _ := c.ReadFromAddrPort(buf)
		if string(buf[:m]) != string(h.Payload()) {
			t.Fatal("queued payload differs from the datagram's")
		}
	})
}
