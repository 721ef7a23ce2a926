package dhcp

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
)

// TestOverLoopback runs the client over real UDP sockets on 127.0.0.1
// (Go's net, real clock) against a minimal server that offers and acks
// 10.0.2.15.
func TestOverLoopback(t *testing.T) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	// The client sends to 127.0.0.1 (standing in for the broadcast
	// address, which loopback cannot carry) on the server's port.
	tr := loopback{PacketConn{Conn: cli, ServerPort: srv.LocalAddr().(*net.UDPAddr).Port}}
	bound := make(chan Lease, 1)
	c, err := New(Config{MAC: clientMAC, Transport: tr, Clock: clock.Real{}, OnBound: func(l Lease) { bound <- l }})
	if err != nil {
		t.Fatal(err)
	}
	loopDone := make(chan error, 1)
	go func() { loopDone <- c.ReadLoop(cli) }()
	c.Start()

	buf := make([]byte, 1500)
	for _, want := range []MessageType{Discover, Request} {
		srv.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := srv.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseMessage(buf[:n])
		if err != nil || m.Type() != want {
			t.Fatalf("server got %v, %v; want type %d", m, err, want)
		}
		reply := Offer
		if want == Request {
			reply = Ack
		}
		r := &Message{Op: OpReply, HType: 1, HLen: 6, XID: m.XID, CHAddr: m.CHAddr, YIAddr: leasedIP, Options: Options{
			{OptMessageType, []byte{byte(reply)}}, {OptServerID, serverIP[:]}, {OptLeaseTime, u32(3600)},
		}}
		if _, err := srv.WriteTo(encode(r), from); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case l := <-bound:
		if l.Addr.Addr != leasedIP || l.Addr.Bits != 8 {
			t.Errorf("lease = %+v", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not bound")
	}
	c.Stop() // sends a RELEASE
	cli.Close()
	if err := <-loopDone; !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadLoop returned %v", err)
	}
}

// loopback rewrites the broadcast destination to 127.0.0.1.
type loopback struct{ PacketConn }

func (l loopback) Send(dst inet.Addr4, p []byte) error {
	return l.PacketConn.Send(inet.MustParseAddr4("127.0.0.1"), p)
}
