package dns

import (
	"context"
	"net"
	"net/netip"
	"testing"
)

// redirect sends every dial to one server, whatever resolv.conf says.
type redirect struct{ to netip.AddrPort }

func (r redirect) DialUDP(ctx context.Context, _ netip.AddrPort) (net.Conn, error) {
	return NetDialer{}.DialUDP(ctx, r.to)
}

func (r redirect) DialTCP(ctx context.Context, _ netip.AddrPort) (net.Conn, error) {
	return NetDialer{}.DialTCP(ctx, r.to)
}

func TestNetResolverDialsThroughDialer(t *testing.T) {
	s := newFakeServer(t, func(q *Message, tcp bool) []reply {
		if q.Questions[0].Type != TypeA {
			return []reply{{}} // NODATA for AAAA
		}
		if !tcp {
			return []reply{{tc: true}} // exercise the "tcp" network too
		}
		return []reply{answer(q, "10.7.7.7")}
	})
	addrs, err := NetResolver(redirect{s.Addr()}).LookupHost(context.Background(), "stdlib.test.")
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || addrs[0] != "10.7.7.7" {
		t.Fatalf("LookupHost = %v", addrs)
	}
	if s.tcpQ.Load() == 0 {
		t.Errorf("no query arrived over TCP")
	}
}
