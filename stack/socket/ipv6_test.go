package socket_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/socket"
)

// pair6 is pair with IPv6 addresses too (EUI-64, link-local and
// fd00:6::/64); it returns B's global IPv6 address.
func pair6(t *testing.T) (a, b *socket.Sockets, bG inet.Addr) {
	sa, sb := stacktest.Pair(t)
	stacktest.Address6(t, sa)
	_, bG = stacktest.Address6(t, sb)
	return socket.New(sa), socket.New(sb), bG
}

// The family package net gives a network on tamago (favoriteAddrFamily
// without IPv4-mapped support): AF_INET6 for "...6" networks and IPv6
// addresses, AF_INET otherwise.
func familyOf(network string, a *net.TCPAddr) int {
	if strings.HasSuffix(network, "6") || a != nil && a.IP.To4() == nil && len(a.IP) > 0 {
		return syscall.AF_INET6
	}
	return syscall.AF_INET
}

func listen(t *testing.T, ss *socket.Sockets, network, addr string) (net.Listener, error) {
	t.Helper()
	la, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ss.Socket(ctxT(t), network, familyOf(network, la), syscall.SOCK_STREAM, la, nil)
	if err != nil {
		return nil, err
	}
	ln := v.(net.Listener)
	t.Cleanup(func() { ln.Close() })
	return ln, nil
}

func dial(t *testing.T, ss *socket.Sockets, network, addr string) (net.Conn, error) {
	t.Helper()
	ra, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ss.Socket(ctxT(t), network, familyOf(network, ra), syscall.SOCK_STREAM, nil, ra)
	if err != nil {
		return nil, err
	}
	return v.(net.Conn), nil
}

// echoOnce accepts one connection on ln and echoes one message of up to
// 64 bytes, returning the client's address as the listener saw it.
func echoOnce(ln net.Listener) chan string {
	from := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			from <- err.Error()
			return
		}
		defer c.Close()
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		c.Write(buf[:n])
		from <- c.RemoteAddr().String() + " " + c.LocalAddr().String()
	}()
	return from
}

func roundTrip(t *testing.T, c net.Conn) {
	t.Helper()
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, err := io.ReadFull(c, buf[:4]); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("echo = %q, %v", buf[:n], err)
	}
}

// "tcp" on a wildcard listens dual-stack: an IPv4 and an IPv6 client
// reach it, each seen with its own address.
func TestTCP6DualListener(t *testing.T) {
	a, b, bG := pair6(t)
	for _, addr := range []string{":8000", "0.0.0.0:8001", "[::]:8002"} {
		ln, err := listen(t, b, "tcp", addr)
		if err != nil {
			t.Fatalf("listen tcp %s: %v", addr, err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		if got := ln.Addr().String(); got != fmt.Sprint("[::]:", port) {
			t.Errorf("dual listener on %s: Addr %s", addr, got)
		}
		for _, to := range []string{fmt.Sprint("10.0.0.2:", port), fmt.Sprintf("[%s]:%d", bG, port)} {
			from := echoOnce(ln)
			c, err := dial(t, a, "tcp", to)
			if err != nil {
				t.Fatalf("dial %s: %v", to, err)
			}
			local := c.LocalAddr().String()
			roundTrip(t, c)
			if got := <-from; got != local+" "+to {
				t.Errorf("server saw %q, want %q", got, local+" "+to)
			}
		}
	}
}

// "tcp4" and "tcp6" listeners share a port (package net sets
// IPV6_V6ONLY for "tcp6"), each taking its own family; a "tcp" one
// beside either is refused.
func TestTCP6SplitListeners(t *testing.T) {
	a, b, bG := pair6(t)
	ln4, err := listen(t, b, "tcp4", ":9000")
	if err != nil {
		t.Fatal(err)
	}
	ln6, err := listen(t, b, "tcp6", ":9000")
	if err != nil {
		t.Fatalf("tcp6 beside tcp4: %v", err)
	}
	if ln4.Addr().String() != "0.0.0.0:9000" || ln6.Addr().String() != "[::]:9000" {
		t.Fatalf("addresses %s %s", ln4.Addr(), ln6.Addr())
	}
	if _, err := listen(t, b, "tcp", ":9000"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("tcp beside tcp4 and tcp6: %v, want EADDRINUSE", err)
	}
	for _, c := range []struct {
		ln       net.Listener
		network  string
		to, from string
	}{{ln4, "tcp4", "10.0.0.2:9000", "10.0.0.1"}, {ln6, "tcp6", fmt.Sprintf("[%s]:9000", bG), "[fd00:6::"}} {
		got := echoOnce(c.ln)
		conn, err := dial(t, a, c.network, c.to)
		if err != nil {
			t.Fatalf("dial %s %s: %v", c.network, c.to, err)
		}
		roundTrip(t, conn)
		if s := <-got; !strings.HasPrefix(s, c.from) {
			t.Errorf("%s listener saw %q", c.network, s)
		}
	}
	// A listener on one IPv6 address.
	ln, err := listen(t, b, "tcp", fmt.Sprintf("[%s]:9001", bG))
	if err != nil {
		t.Fatal(err)
	}
	if ln.Addr().String() != fmt.Sprintf("[%s]:9001", bG) {
		t.Fatalf("Addr %s", ln.Addr())
	}
	if _, err := dial(t, a, "tcp", "10.0.0.2:9001"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("IPv4 to an IPv6 address's listener: %v, want ECONNREFUSED", err)
	}
}

// UDP: "udp6" is IPv6 only beside "udp4"; "udp" on [::] (AF_INET6 from
// package net) takes both, on ":port" (AF_INET) IPv4 only.
func TestUDP6(t *testing.T) {
	a, b, bG := pair6(t)
	bind := func(ss *socket.Sockets, network string, family int, la *net.UDPAddr) (net.PacketConn, error) {
		v, err := ss.Socket(ctxT(t), network, family, syscall.SOCK_DGRAM, la, nil)
		if err != nil {
			return nil, err
		}
		pc := v.(net.PacketConn)
		t.Cleanup(func() { pc.Close() })
		return pc, nil
	}
	send := func(network string, family int, to *net.UDPAddr) net.Addr {
		t.Helper()
		v, err := a.Socket(ctxT(t), network, family, syscall.SOCK_DGRAM, nil, to)
		if err != nil {
			t.Fatalf("dial %s: %v", to, err)
		}
		c := v.(net.Conn)
		defer c.Close()
		if _, err := c.Write([]byte("dgram")); err != nil {
			t.Fatal(err)
		}
		return c.LocalAddr()
	}
	recv := func(pc net.PacketConn, from net.Addr) {
		t.Helper()
		pc.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, 16)
		n, got, err := pc.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "dgram" || got.String() != from.String() {
			t.Fatalf("ReadFrom = %q from %v, %v; want from %v", buf[:n], got, err, from)
		}
	}
	to4 := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 5000}
	to6 := &net.UDPAddr{IP: bG.Netip().AsSlice(), Port: 5000}
	u4, err := bind(b, "udp4", syscall.AF_INET, &net.UDPAddr{Port: 5000})
	if err != nil {
		t.Fatal(err)
	}
	u6, err := bind(b, "udp6", syscall.AF_INET6, &net.UDPAddr{Port: 5000})
	if err != nil {
		t.Fatalf("udp6 beside udp4: %v", err)
	}
	recv(u4, send("udp", syscall.AF_INET, to4))
	recv(u6, send("udp6", syscall.AF_INET6, to6))
	u4.Close()
	u6.Close()

	dual, err := bind(b, "udp", syscall.AF_INET6, &net.UDPAddr{IP: net.IPv6zero, Port: 5000})
	if err != nil {
		t.Fatal(err)
	}
	recv(dual, send("udp", syscall.AF_INET, to4))
	recv(dual, send("udp", syscall.AF_INET6, to6))
	dual.Close()

	only4, err := bind(b, "udp", syscall.AF_INET, &net.UDPAddr{Port: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bind(b, "udp6", syscall.AF_INET6, &net.UDPAddr{Port: 5000}); err != nil {
		t.Fatalf("udp6 beside an AF_INET udp socket: %v (that one is IPv4 only)", err)
	}
	recv(only4, send("udp", syscall.AF_INET, to4))
}

// net/http serves and fetches over IPv6 through the socket adapter.
func TestHTTP6(t *testing.T) {
	a, b, bG := pair6(t)
	ln, err := listen(t, b, "tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: wait, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.RemoteAddr)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) { return dial(t, a, network, addr) }}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: wait}
	resp, err := client.Get(fmt.Sprintf("http://[%s]/", bG))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "hello [fd00:6::") {
		t.Fatalf("GET over IPv6 = %q", body)
	}
}

// A stack built without IPv6 refuses IPv6 sockets (EAFNOSUPPORT).
func TestNoIPv6(t *testing.T) {
	sw := memlink.NewSwitch(memlink.Config{})
	t.Cleanup(func() { sw.Close() })
	s, err := stack.New(sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 9}, 1500), stack.Config{DisableIPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ss := socket.New(s)
	for _, c := range []struct {
		network string
		laddr   net.Addr
		raddr   net.Addr
	}{
		{"tcp6", &net.TCPAddr{Port: 80}, nil},
		{"tcp", nil, &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 80}},
		{"udp6", &net.UDPAddr{Port: 53}, nil},
	} {
		sotype := syscall.SOCK_STREAM
		if strings.HasPrefix(c.network, "udp") {
			sotype = syscall.SOCK_DGRAM
		}
		if v, err := ss.Socket(ctxT(t), c.network, syscall.AF_INET6, sotype, c.laddr, c.raddr); !errors.Is(err, syscall.EAFNOSUPPORT) {
			t.Errorf("%s %v %v: %T, %v; want EAFNOSUPPORT", c.network, c.laddr, c.raddr, v, err)
		}
	}
}
