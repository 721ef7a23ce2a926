package stack_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// twoStacks returns two stacks, 10.0.0.1 and 10.0.0.2, on one in-memory
// Ethernet switch (drivers/memlink).
func twoStacks() (a, b *stack.Stack) {
	sw := memlink.NewSwitch(memlink.Config{})
	mk := func(host byte, dev netif.Device) *stack.Stack {
		s, err := stack.New(dev, stack.Config{
			Addr: inet.Prefix4{Addr: inet.Addr4{10, 0, 0, host}, Bits: 24},
		})
		if err != nil {
			panic(err)
		}
		return s
	}
	a = mk(1, sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 1}, 1500))
	b = mk(2, sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 2}, 1500))
	return a, b
}

// A stack over the in-memory link: b listens on TCP port 7 and echoes,
// a dials it. Conns are net.Conns (plus CloseRead and CloseWrite), so the
// standard library's io works on them unchanged.
func Example() {
	a, b := twoStacks()
	defer a.Close()
	defer b.Close()

	ln, err := b.TCP().Listen(7)
	if err != nil {
		panic(err)
	}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c) // echo until the client closes its side
		c.Close()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := a.TCP().Dial(ctx, netip.MustParseAddrPort("10.0.0.2:7"))
	if err != nil {
		panic(err)
	}
	c.Write([]byte("hello, mirago"))
	c.CloseWrite()
	reply, _ := io.ReadAll(c)
	c.Close()
	fmt.Printf("%s from %v\n", reply, c.RemoteAddr())
	// Output: hello, mirago from 10.0.0.2:7
}

// UDP: Bind gives a net.PacketConn; Dial a connected socket (net.Conn).
func ExampleStack_UDP() {
	a, b := twoStacks()
	defer a.Close()
	defer b.Close()

	srv, err := b.UDP().Bind(netip.MustParseAddrPort("0.0.0.0:5353"))
	if err != nil {
		panic(err)
	}
	cl, err := a.UDP().Dial(netip.MustParseAddrPort("10.0.0.2:5353"))
	if err != nil {
		panic(err)
	}
	cl.Write([]byte("ping"))
	buf := make([]byte, 64)
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := srv.ReadFrom(buf)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q from %v\n", buf[:n], from.(*net.UDPAddr).IP)
	// Output: "ping" from 10.0.0.1
}

// net/http served on our listener, and a client dialling through our
// stack: tcp.Listener is a net.Listener, and Dial fits
// http.Transport.DialContext.
func Example_http() {
	a, b := twoStacks()
	defer a.Close()
	defer b.Close()

	ln, err := b.TCP().Listen(80)
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s over mirago", r.URL.Path[1:])
	})}
	go srv.Serve(ln)
	defer srv.Close()

	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return nil, err
			}
			return a.TCP().Dial(ctx, ap)
		},
	}, Timeout: 5 * time.Second}
	resp, err := client.Get("http://10.0.0.2:80/gopher")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, string(body))
	// Output: 200 OK hello gopher over mirago
}

// countingDevice is a netif.Device of one's own: here a wrapper that
// counts the frames a device sends. A driver implements the same eight
// methods (MAC, MTU, Headroom, LinkUp, Offloads, Transmit, SetHandler,
// Stats, Close); see docs/EMBEDDING.md.
type countingDevice struct {
	netif.Device
	sent int
}

// Transmit implements netif.Device: b is only lent for the call.
func (d *countingDevice) Transmit(b *pkt.Buf) error {
	d.sent++
	return d.Device.Transmit(b)
}

// A stack runs over any netif.Device.
func Example_device() {
	sw := memlink.NewSwitch(memlink.Config{})
	dev := &countingDevice{Device: sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 1}, 1500)}
	a, err := stack.New(dev, stack.Config{
		Addr: inet.Prefix4{Addr: inet.Addr4{10, 0, 0, 1}, Bits: 24}, DisableIPv6: true,
	})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	b, err := stack.New(sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 3}, 1500), stack.Config{
		Addr: inet.Prefix4{Addr: inet.Addr4{10, 0, 0, 3}, Bits: 24}, DisableIPv6: true,
	})
	if err != nil {
		panic(err)
	}
	defer b.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rtt, err := a.Ping(ctx, inet.AddrFrom4(inet.Addr4{10, 0, 0, 3}), []byte("are you there?"))
	a.Locker().Lock()
	sent := dev.sent
	a.Locker().Unlock()
	fmt.Println(err == nil && rtt > 0, sent >= 2) // an ARP request and the echo request at least
	// Output: true true
}
