package stack_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/netif"
)

// mtuPair is A (10.0.0.1, recording) and B (10.0.0.2) on one switch, both
// with 1500-byte devices, B running a UDP sink on port 9 and a TCP sink
// listener on port 5001.
type mtuPair struct {
	a, b  *stack.Stack
	rec   *stacktest.RecordingPort
	udpIn chan int // sizes of datagrams B received
	tcpIn chan int // bytes B read per accepted connection, at EOF
}

func newMTUPair(t *testing.T) *mtuPair {
	t.Helper()
	p := &mtuPair{udpIn: make(chan int, 16), tcpIn: make(chan int, 16)}
	p.a, p.b = stacktest.PairWith(t, func(mac inet.MAC, d netif.Device) netif.Device {
		if mac[5] != 1 {
			return d
		}
		p.rec = stacktest.NewRecordingPort(d)
		return p.rec
	})
	u, err := p.b.UDP().Bind(netip.MustParseAddrPort("0.0.0.0:9"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := u.ReadFromAddrPort(buf)
			if err != nil {
				return
			}
			p.udpIn <- n
		}
	}()
	ln, err := p.b.TCP().Listen(5001)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				n, _ := io.Copy(io.Discard, c)
				c.Close()
				p.tcpIn <- int(n)
			}()
		}
	}()
	// Resolve B before recording, so that every datagram goes out at once.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.a.ARP().Query(ctx, inet.MustParseAddr4("10.0.0.2")); err != nil {
		t.Fatal(err)
	}
	p.rec.Take()
	return p
}

// sendUDP sends a size-byte datagram from A to B and waits for it.
func (p *mtuPair) sendUDP(t *testing.T, size int) {
	t.Helper()
	c, err := p.a.UDP().Dial(netip.MustParseAddrPort("10.0.0.2:9"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(bytes.Repeat([]byte{0x5a}, size)); err != nil {
		t.Fatalf("UDP write of %d bytes: %v", size, err)
	}
	select {
	case n := <-p.udpIn:
		if n != size {
			t.Fatalf("B received %d bytes, want %d", n, size)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("B received no %d-byte datagram", size)
	}
}

// dial opens a TCP connection from A to B's sink.
func (p *mtuPair) dial(t *testing.T) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := p.a.TCP().Dial(ctx, netip.MustParseAddrPort("10.0.0.2:5001"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sendTCP writes n bytes on c, closes it and waits for B to have read them.
func (p *mtuPair) sendTCP(t *testing.T, c net.Conn, n int) {
	t.Helper()
	if _, err := c.Write(bytes.Repeat([]byte{0xa5}, n)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case got := <-p.tcpIn:
		if got != n {
			t.Fatalf("B read %d bytes, want %d", got, n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("B did not read the stream to its end")
	}
}

// synMSS returns the MSS of the one IPv4 SYN in out.
func synMSS(t *testing.T, out []stacktest.SentIP) int {
	t.Helper()
	mss := -1
	for _, o := range out {
		if o.SYN && !o.V6 {
			if mss != -1 {
				t.Fatal("more than one SYN")
			}
			mss = o.MSS
		}
	}
	if mss == -1 {
		t.Fatal("no SYN sent")
	}
	return mss
}

// largest returns the largest IPv4 datagram of protocol proto in out,
// and how many of them were fragments and carried TCP data.
func largest(out []stacktest.SentIP, proto uint8) (max, frags, data int) {
	for _, o := range out {
		if o.Proto != proto || o.V6 {
			continue
		}
		if o.TotalLen > max {
			max = o.TotalLen
		}
		if o.Frag {
			frags++
		}
		if o.Payload > 0 {
			data++
		}
	}
	return max, frags, data
}

// Stack.SetMTU lowers the IP MTU below the device's: UDP is fragmented to
// it, new TCP connections advertise MSS mtu-40, an established connection
// whose MSS no longer fits sends smaller segments, out-of-range values are
// refused, and 0 restores the device MTU.
func TestSetMTU(t *testing.T) {
	p := newMTUPair(t)
	if p.a.MTU() != 1500 {
		t.Fatalf("initial MTU %d", p.a.MTU())
	}
	old := p.dial(t) // established at MTU 1500
	if mss := synMSS(t, p.rec.Take()); mss != 1460 {
		t.Fatalf("SYN MSS %d at MTU 1500, want 1460", mss)
	}

	for _, bad := range []int{-1, 67, 300, 575, 1501, 9000} {
		if err := p.a.SetMTU(bad); !errors.Is(err, ipv4.ErrMTU) {
			t.Errorf("SetMTU(%d): %v, want ErrMTU", bad, err)
		}
	}
	if p.a.MTU() != 1500 {
		t.Fatalf("MTU %d after refused SetMTU calls", p.a.MTU())
	}
	if err := p.a.SetMTU(1000); err != nil {
		t.Fatal(err)
	}
	if p.a.MTU() != 1000 {
		t.Fatalf("MTU %d, want 1000", p.a.MTU())
	}

	// UDP: 1400 bytes of payload go out in fragments of <= 1000 bytes.
	p.sendUDP(t, 1400)
	if max, frags, _ := largest(p.rec.Take(), inet.ProtoUDP); max > 1000 || frags != 2 {
		t.Fatalf("UDP at MTU 1000: largest datagram %d bytes, %d fragments; want <= 1000 and 2", max, frags)
	}

	// A new connection advertises MSS 960 and sends segments <= 1000 bytes.
	c := p.dial(t)
	p.sendTCP(t, c, 100_000)
	out := p.rec.Take()
	if mss := synMSS(t, out); mss != 960 {
		t.Fatalf("SYN MSS %d at MTU 1000, want 960", mss)
	}
	if max, _, data := largest(out, inet.ProtoTCP); max > 1000 || data == 0 {
		t.Fatalf("new connection: largest segment %d bytes of IP (%d with data), want <= 1000", max, data)
	}

	// The connection opened at 1500 lowers its MSS: nothing above 1000.
	p.sendTCP(t, old, 100_000)
	if max, _, data := largest(p.rec.Take(), inet.ProtoTCP); max > 1000 || max < 900 || data == 0 {
		t.Fatalf("old connection: largest segment %d bytes of IP (%d with data), want 900..1000", max, data)
	}
	if st := p.a.Stats().IP; st.DropTooBig != 0 {
		t.Fatalf("IP refused %d datagrams as too big", st.DropTooBig)
	}

	// Restored: 1500 again, unfragmented UDP, MSS 1460.
	if err := p.a.SetMTU(0); err != nil || p.a.MTU() != 1500 {
		t.Fatalf("SetMTU(0): %v, MTU %d", err, p.a.MTU())
	}
	p.sendUDP(t, 1400)
	if max, frags, _ := largest(p.rec.Take(), inet.ProtoUDP); max != 1428 || frags != 0 {
		t.Fatalf("UDP after restoring: largest %d bytes, %d fragments; want 1428 and none", max, frags)
	}
	c = p.dial(t)
	p.sendTCP(t, c, 100_000)
	out = p.rec.Take()
	if mss := synMSS(t, out); mss != 1460 {
		t.Fatalf("SYN MSS %d after restoring, want 1460", mss)
	}
	if max, _, _ := largest(out, inet.ProtoTCP); max <= 1000 {
		t.Fatalf("largest segment %d bytes after restoring, want full-size segments", max)
	}
	if err := p.a.SetMTU(1500); err != nil || p.a.MTU() != 1500 {
		t.Fatalf("SetMTU(device MTU): %v, MTU %d", err, p.a.MTU())
	}
}
