package ipv4

import (
	"testing"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

func quotedTCP(n int) Header {
	d := datagram(Fields{Protocol: inet.ProtoTCP, Src: ourAddr, Dst: farAddr, ID: 0x4242}, seq(1400))
	return Header(d[:n])
}

func TestDeliverError(t *testing.T) {
	e := newEnv(t, Config{})
	q := quotedTCP(28)
	e.l.DeliverError(3, 3, 0, gwAddr, q)
	if len(e.tcp.errs) != 1 {
		t.Fatalf("not delivered: %+v", e.l.StatsLocked())
	}
	c := e.tcp.errs[0]
	if c.Kind != transport.PortUnreachable || c.Src != inet.AddrFrom4(ourAddr) || c.Dst != inet.AddrFrom4(farAddr) || c.Proto != inet.ProtoTCP || c.From != inet.AddrFrom4(gwAddr) || len(c.Quoted) != 8 || c.Quoted[1] != seq(2)[1] || c.MTU != 0 {
		t.Errorf("fields %+v", c)
	}
	// Truncated transport header: passed on, transport checks.
	e.l.DeliverError(11, 0, 0, gwAddr, quotedTCP(22))
	if len(e.tcp.errs) != 2 || len(e.tcp.errs[1].Quoted) != 2 || e.tcp.errs[1].Kind != transport.TimeExceeded {
		t.Errorf("truncated: %+v", e.tcp.errs)
	}
	// Header itself truncated, wrong source, no transport, a type that
	// quotes nothing: dropped.
	e.l.DeliverError(3, 0, 0, gwAddr, quotedTCP(19))
	other := datagram(Fields{Protocol: inet.ProtoTCP, Src: peerAddr, Dst: farAddr}, seq(8))
	e.l.DeliverError(3, 0, 0, gwAddr, other)
	noProto := datagram(Fields{Protocol: 99, Src: ourAddr, Dst: farAddr}, seq(8))
	e.l.DeliverError(3, 0, 0, gwAddr, noProto)
	e.l.DeliverError(5, 0, 0, gwAddr, q) // redirect
	if len(e.tcp.errs) != 2 || e.l.StatsLocked().ControlErrorDrops != 4 {
		t.Errorf("drops: %+v", e.l.StatsLocked())
	}
}

// TestErrorKind is the one ICMPv4 type/code to transport.ErrorKind table
// (RFC 792, RFC 1122 §4.2.3.9, RFC 1812 §5.2.7.1).
func TestErrorKind(t *testing.T) {
	tests := []struct {
		typ, code uint8
		want      transport.ErrorKind
	}{
		{3, 0, transport.NetUnreachable}, {3, 6, transport.NetUnreachable}, {3, 11, transport.NetUnreachable},
		{3, 1, transport.HostUnreachable}, {3, 5, transport.HostUnreachable}, {3, 7, transport.HostUnreachable},
		{3, 8, transport.HostUnreachable}, {3, 12, transport.HostUnreachable}, {3, 14, transport.HostUnreachable},
		{3, 2, transport.ProtoUnreachable}, {3, 3, transport.PortUnreachable}, {3, 4, transport.PacketTooBig},
		{3, 9, transport.Prohibited}, {3, 10, transport.Prohibited}, {3, 13, transport.Prohibited},
		{11, 0, transport.TimeExceeded}, {11, 1, transport.TimeExceeded},
		{12, 0, transport.ParamProblem}, {4, 0, transport.SourceQuench},
	}
	for _, tc := range tests {
		if got, ok := errorKind(tc.typ, tc.code); !ok || got != tc.want {
			t.Errorf("type %d code %d: %v %v, want %v", tc.typ, tc.code, got, ok, tc.want)
		}
	}
	for _, typ := range []uint8{0, 5, 8, 13} {
		if _, ok := errorKind(typ, 0); ok {
			t.Errorf("type %d classified as an error", typ)
		}
	}
}

func TestDeliverErrorMTU(t *testing.T) {
	tests := []struct{ in, want uint16 }{
		{1400, 1400},
		{68, 68},
		{20, 68},
		{0, 1006}, // plateau below the quoted 1420-byte datagram
	}
	for _, tc := range tests {
		e := newEnv(t, Config{})
		q := datagram(Fields{Protocol: inet.ProtoTCP, Src: ourAddr, Dst: farAddr, DF: true}, seq(1400))
		e.l.DeliverError(TypeDestUnreachable, CodeFragNeeded, tc.in, gwAddr, q[:28])
		if len(e.tcp.errs) != 1 || e.tcp.errs[0].MTU != int(tc.want) || e.tcp.errs[0].Kind != transport.PacketTooBig {
			t.Errorf("MTU %d: got %+v", tc.in, e.tcp.errs)
		}
	}
	if plateauBelow(68) != 68 || plateauBelow(1500) != 1492 || plateauBelow(65535) != 32000 {
		t.Error("plateaus")
	}
}
