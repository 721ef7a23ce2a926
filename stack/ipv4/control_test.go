package ipv4

import (
	"testing"

	"github.com/mirago/mirago/stack/inet"
)

func quotedTCP(n int) Header {
	d := datagram(Fields{Protocol: inet.ProtoTCP, Src: ourAddr, Dst: farAddr, ID: 0x4242}, seq(1400))
	return Header(d[:n])
}

func TestDeliverError(t *testing.T) {
	e := newEnv(t, Config{})
	q := quotedTCP(28)
	e.l.DeliverError(&ControlError{Type: 3, Code: 3, From: gwAddr, Quoted: q})
	if len(e.tcp.errs) != 1 {
		t.Fatalf("not delivered: %+v", e.l.Stats())
	}
	c := e.tcp.errs[0]
	if c.Src != ourAddr || c.Dst != farAddr || c.Proto != inet.ProtoTCP || c.ID != 0x4242 || c.From != gwAddr || len(c.QuotedTransport) != 8 || c.QuotedTransport[1] != seq(2)[1] {
		t.Errorf("fields %+v", c)
	}
	// Truncated transport header: passed on, transport checks.
	e.l.DeliverError(&ControlError{Type: 11, Quoted: quotedTCP(22)})
	if len(e.tcp.errs) != 2 || len(e.tcp.errs[1].QuotedTransport) != 2 {
		t.Errorf("truncated: %+v", e.tcp.errs)
	}
	// Header itself truncated, wrong source, no transport: dropped.
	e.l.DeliverError(&ControlError{Type: 3, Quoted: quotedTCP(19)})
	other := datagram(Fields{Protocol: inet.ProtoTCP, Src: peerAddr, Dst: farAddr}, seq(8))
	e.l.DeliverError(&ControlError{Type: 3, Quoted: other})
	noProto := datagram(Fields{Protocol: 99, Src: ourAddr, Dst: farAddr}, seq(8))
	e.l.DeliverError(&ControlError{Type: 3, Quoted: noProto})
	if len(e.tcp.errs) != 2 || e.l.Stats().ControlErrorDrops != 3 {
		t.Errorf("drops: %+v", e.l.Stats())
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
		e.l.DeliverError(&ControlError{Type: TypeDestUnreachable, Code: CodeFragNeeded, MTU: tc.in, Quoted: q[:28]})
		if len(e.tcp.errs) != 1 || e.tcp.errs[0].MTU != tc.want {
			t.Errorf("MTU %d: got %+v", tc.in, e.tcp.errs)
		}
	}
	if plateauBelow(68) != 68 || plateauBelow(1500) != 1492 || plateauBelow(65535) != 32000 {
		t.Error("plateaus")
	}
}
