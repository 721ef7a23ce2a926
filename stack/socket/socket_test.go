package socket_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/socket"
	"github.com/mirago/mirago/stack/tcp"
	"github.com/mirago/mirago/stack/udp"
)

const wait = 10 * time.Second

// pair builds stacks A (10.0.0.1) and B (10.0.0.2) on an in-memory switch
// and returns their Sockets.
func pair(t *testing.T) (a, b *socket.Sockets) {
	sa, sb := stacktest.Pair(t)
	return socket.New(sa), socket.New(sb)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// The arguments below are those tamago-go's package net passes to
// net.SocketFunc (favoriteAddrFamily with IPv4 only; a listen has laddr
// and no raddr, a dial raddr and no laddr unless one was given).

func listenTCP(t *testing.T, ss *socket.Sockets, addr string) net.Listener {
	t.Helper()
	la, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ss.Socket(ctxT(t), "tcp", syscall.AF_INET, syscall.SOCK_STREAM, la, nil)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	ln, ok := v.(net.Listener)
	if !ok {
		t.Fatalf("listen returned %T, want a net.Listener", v)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// dialContext dials as net.Dial does on tamago.
func dialContext(ss *socket.Sockets) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ra, err := net.ResolveTCPAddr(network, addr)
		if err != nil {
			return nil, err
		}
		v, err := ss.Socket(ctx, network, syscall.AF_INET, syscall.SOCK_STREAM, nil, ra)
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Addr: ra, Err: err}
		}
		c, ok := v.(net.Conn)
		if !ok {
			return nil, fmt.Errorf("dial returned %T, want a net.Conn", v)
		}
		return c, nil
	}
}

func TestTCPListenDial(t *testing.T) {
	a, b := pair(t)
	for _, addr := range []string{":80", "10.0.0.2:81", ":0", "0.0.0.0:0"} {
		ln := listenTCP(t, b, addr)
		port := ln.Addr().(*net.TCPAddr).Port
		if port == 0 || (!strings.HasSuffix(addr, ":0") && fmt.Sprint(":", port) != addr[strings.LastIndexByte(addr, ':'):]) {
			t.Fatalf("listening on %s: Addr %v", addr, ln.Addr())
		}
		if strings.HasPrefix(addr, "10.") && ln.Addr().String() != addr {
			t.Fatalf("listening on %s: Addr %v", addr, ln.Addr())
		}
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				t.Error(err)
			}
			accepted <- c
		}()
		c, err := dialContext(a)(ctxT(t), "tcp", fmt.Sprint("10.0.0.2:", port))
		if err != nil {
			t.Fatal(err)
		}
		s := <-accepted
		if s == nil {
			t.FailNow()
		}
		if _, ok := c.(*tcp.Conn); !ok {
			t.Fatalf("dial gave %T, want *tcp.Conn", c)
		}
		if c.LocalAddr().String() != s.RemoteAddr().String() || s.LocalAddr().String() != fmt.Sprint("10.0.0.2:", port) {
			t.Fatalf("addresses: %v->%v, %v->%v", c.LocalAddr(), c.RemoteAddr(), s.LocalAddr(), s.RemoteAddr())
		}
		if _, err := c.Write([]byte("hi")); err != nil {
			t.Fatal(err)
		}
		c.Close()
		got, err := io.ReadAll(s)
		if err != nil || string(got) != "hi" {
			t.Fatalf("read %q, %v", got, err)
		}
		s.Close()
		ln.Close()
	}
}

// TestTCPDialFromPort dials from a chosen local port (laddr set).
func TestTCPDialFromPort(t *testing.T) {
	a, b := pair(t)
	ln := listenTCP(t, b, ":90")
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	la := &net.TCPAddr{Port: 40001}
	ra := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 90}
	v, err := a.Socket(ctxT(t), "tcp", syscall.AF_INET, syscall.SOCK_STREAM, la, ra)
	if err != nil {
		t.Fatal(err)
	}
	c := v.(net.Conn)
	defer c.Close()
	if c.LocalAddr().String() != "10.0.0.1:40001" {
		t.Fatalf("LocalAddr %v, want 10.0.0.1:40001", c.LocalAddr())
	}
}

// What net/http relies on: Close unblocks Accept, a past read deadline
// wakes a blocked Read with a Timeout() error, io.EOF at FIN, Close
// unblocks Read.
func TestNetHTTPSemantics(t *testing.T) {
	a, b := pair(t)
	ln := listenTCP(t, b, ":8080")
	acc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		acc <- err
	}()
	ln.Close()
	select {
	case err := <-acc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatal("Close did not unblock Accept")
	}

	ln = listenTCP(t, b, ":8081")
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := dialContext(a)(ctxT(t), "tcp", "10.0.0.2:8081")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-accepted
	if s == nil {
		t.FailNow()
	}
	defer s.Close()

	readAsync := func(conn net.Conn) chan error {
		ch := make(chan error, 1)
		go func() {
			_, err := conn.Read(make([]byte, 8))
			ch <- err
		}()
		return ch
	}
	awaitErr := func(ch chan error, what string) error {
		t.Helper()
		select {
		case err := <-ch:
			return err
		case <-time.After(wait):
			t.Fatalf("%s: Read still blocked", what)
			return nil
		}
	}
	// A blocked Read wakes with a timeout when the deadline is moved
	// into the past (http.Server's background read and Shutdown).
	ch := readAsync(s)
	s.SetReadDeadline(time.Unix(1, 0))
	err = awaitErr(ch, "past deadline")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read across a past deadline: %v, want a Timeout() error", err)
	}
	s.SetReadDeadline(time.Time{})
	// io.EOF at FIN.
	c.Write([]byte("x"))
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(s); err != nil || string(got) != "x" {
		t.Fatalf("ReadAll = %q, %v; want x, nil (EOF)", got, err)
	}
	// Close unblocks a Read.
	ch = readAsync(c)
	c.Close()
	if err := awaitErr(ch, "Close"); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read across Close: %v, want net.ErrClosed", err)
	}
}

func TestHTTP(t *testing.T) {
	a, b := pair(t)
	ln := listenTCP(t, b, ":80")
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.RemoteAddr)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // HTTP/1: read the body before answering
		w.Write(body)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: wait}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	tr := &http.Transport{DialContext: dialContext(a)}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: wait}
	for range 2 {
		resp, err := client.Get("http://10.0.0.2/hello")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !strings.HasPrefix(string(body), "hello 10.0.0.1:") {
			t.Fatalf("GET = %q, %v", body, err)
		}
	}
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	resp, err := client.Post("http://10.0.0.2/echo", "text/plain", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != big {
		t.Fatalf("POST echo: %d bytes, %v", len(body), err)
	}
	ctx := ctxT(t)
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
}

func TestUDP(t *testing.T) {
	a, b := pair(t)
	v, err := b.Socket(ctxT(t), "udp", syscall.AF_INET, syscall.SOCK_DGRAM, &net.UDPAddr{Port: 5353}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc, ok := v.(net.PacketConn)
	if !ok {
		t.Fatalf("ListenPacket gave %T", v)
	}
	defer pc.Close()
	pc.SetDeadline(time.Now().Add(wait))
	ra := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 5353}

	// A connected socket from an ephemeral port, and one from port 6000.
	for _, la := range []net.Addr{nil, &net.UDPAddr{Port: 6000}} {
		v, err := a.Socket(ctxT(t), "udp", syscall.AF_INET, syscall.SOCK_DGRAM, la, ra)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := v.(net.Conn)
		if !ok {
			t.Fatalf("Dial udp gave %T", v)
		}
		if _, ok := v.(net.PacketConn); !ok {
			t.Fatalf("Dial udp gave %T, not a net.PacketConn (UDPConn.ReadFrom needs it)", v)
		}
		c.SetDeadline(time.Now().Add(wait))
		if _, err := c.Write([]byte("query")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, from, err := pc.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "query" {
			t.Fatalf("ReadFrom = %q, %v", buf[:n], err)
		}
		if from.String() != c.LocalAddr().String() {
			t.Fatalf("datagram from %v, socket is %v", from, c.LocalAddr())
		}
		if la != nil && from.(*net.UDPAddr).Port != 6000 {
			t.Fatalf("datagram from %v, want port 6000", from)
		}
		if la != nil {
			// A connected socket ignores other senders.
			v, err := b.Socket(ctxT(t), "udp", syscall.AF_INET, syscall.SOCK_DGRAM, &net.UDPAddr{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			stranger := v.(net.PacketConn)
			stranger.WriteTo([]byte("noise"), from)
			stranger.Close()
		}
		if _, err := pc.WriteTo([]byte("answer"), from); err != nil {
			t.Fatal(err)
		}
		n, err = c.Read(buf)
		if err != nil || string(buf[:n]) != "answer" {
			t.Fatalf("Read = %q, %v", buf[:n], err)
		}
		if c.RemoteAddr().String() != ra.String() {
			t.Fatalf("RemoteAddr %v", c.RemoteAddr())
		}
		c.Close()
	}
}

func TestErrors(t *testing.T) {
	a, b := pair(t)
	listenTCP(t, b, ":7")
	v6 := &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 80}
	tcpB := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 7}
	for _, tc := range []struct {
		name           string
		network        string
		family, sotype int
		laddr, raddr   net.Addr
		ss             *socket.Sockets
		want           error
	}{
		{"dial IPv6 without an address", "tcp", syscall.AF_INET6, syscall.SOCK_STREAM, nil, v6, a, ipv6.ErrNoAddress},
		{"listen foreign IPv6", "tcp", syscall.AF_INET6, syscall.SOCK_STREAM, &net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 80}, nil, a, syscall.EADDRNOTAVAIL},
		{"tcp4 on IPv6", "tcp4", syscall.AF_INET, syscall.SOCK_STREAM, &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 80}, nil, a, syscall.EADDRNOTAVAIL},
		{"zone", "tcp6", syscall.AF_INET6, syscall.SOCK_STREAM, &net.TCPAddr{IP: net.ParseIP("fe80::1"), Zone: "eth0", Port: 80}, nil, a, syscall.EINVAL},
		{"unix", "unix", syscall.AF_UNIX, syscall.SOCK_STREAM, &net.UnixAddr{Name: "/x", Net: "unix"}, nil, a, syscall.EAFNOSUPPORT},
		{"raw", "ip4:icmp", syscall.AF_INET, syscall.SOCK_RAW, &net.IPAddr{}, nil, a, syscall.ESOCKTNOSUPPORT},
		{"tcp as dgram", "tcp", syscall.AF_INET, syscall.SOCK_DGRAM, &net.TCPAddr{Port: 80}, nil, a, syscall.EPROTONOSUPPORT},
		{"udp as stream", "udp", syscall.AF_INET, syscall.SOCK_STREAM, &net.UDPAddr{Port: 80}, nil, a, syscall.EPROTONOSUPPORT},
		{"sctp", "sctp", syscall.AF_INET, syscall.SOCK_STREAM, &net.TCPAddr{Port: 80}, nil, a, syscall.EPROTONOSUPPORT},
		{"listen foreign address", "tcp", syscall.AF_INET, syscall.SOCK_STREAM, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 80}, nil, a, syscall.EADDRNOTAVAIL},
		{"bind foreign address", "udp", syscall.AF_INET, syscall.SOCK_DGRAM, &net.UDPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 80}, nil, a, syscall.EADDRNOTAVAIL},
		{"listen port in use", "tcp", syscall.AF_INET, syscall.SOCK_STREAM, &net.TCPAddr{Port: 7}, nil, b, syscall.EADDRINUSE},
		{"dial refused", "tcp", syscall.AF_INET, syscall.SOCK_STREAM, nil, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 8}, a, syscall.ECONNREFUSED},
		{"dial unspecified", "tcp", syscall.AF_INET, syscall.SOCK_STREAM, nil, &net.TCPAddr{Port: 8}, a, syscall.EADDRNOTAVAIL},
		{"dial from foreign address", "tcp", syscall.AF_INET, syscall.SOCK_STREAM, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 9)}, tcpB, a, syscall.EADDRNOTAVAIL},
		{"wrong address type", "tcp", syscall.AF_INET, syscall.SOCK_STREAM, nil, &net.IPAddr{IP: net.IPv4(10, 0, 0, 2)}, a, syscall.EINVAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.ss.Socket(ctxT(t), tc.network, tc.family, tc.sotype, tc.laddr, tc.raddr)
			if !errors.Is(err, tc.want) {
				if c, ok := v.(io.Closer); ok {
					c.Close()
				}
				t.Fatalf("Socket = %T, %v; want %v", v, err, tc.want)
			}
			if v != nil {
				t.Fatalf("Socket returned %T with an error", v)
			}
		})
	}
	// UDP port in use.
	v, err := b.Socket(ctxT(t), "udp", syscall.AF_INET, syscall.SOCK_DGRAM, &net.UDPAddr{Port: 9}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.(io.Closer).Close()
	if _, err := b.Socket(ctxT(t), "udp", syscall.AF_INET, syscall.SOCK_DGRAM, &net.UDPAddr{Port: 9}, nil); !errors.Is(err, syscall.EADDRINUSE) || !errors.Is(err, udp.ErrPortInUse) {
		t.Fatalf("second bind: %v, want EADDRINUSE", err)
	}
}

// "tcp" on the IPv6 wildcard listens dual-stack, and an IPv4-mapped
// address is IPv4.
func TestIPv6WildcardAndMapped(t *testing.T) {
	a, b := pair(t)
	v, err := b.Socket(ctxT(t), "tcp", syscall.AF_INET6, syscall.SOCK_STREAM, &net.TCPAddr{IP: net.IPv6zero, Port: 80}, nil)
	if err != nil {
		t.Fatalf("listen [::]:80: %v", err)
	}
	ln := v.(net.Listener)
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	mapped := &net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.2"), Port: 80}
	v, err = a.Socket(ctxT(t), "tcp", syscall.AF_INET6, syscall.SOCK_STREAM, nil, mapped)
	if err != nil {
		t.Fatalf("dial %v: %v", mapped, err)
	}
	c := v.(net.Conn)
	defer c.Close()
	if got := c.RemoteAddr().(*net.TCPAddr).AddrPort(); netip.AddrPortFrom(got.Addr().Unmap(), got.Port()) != netip.MustParseAddrPort("10.0.0.2:80") {
		t.Fatalf("RemoteAddr %v", got)
	}
}

// A cancelled context stops a dial.
func TestDialContext(t *testing.T) {
	a, _ := pair(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// 10.0.0.3 does not exist: without the context the dial would wait
	// for ARP and SYN retransmissions.
	_, err := a.Socket(ctx, "tcp", syscall.AF_INET, syscall.SOCK_STREAM, nil, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 3), Port: 80})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("dial with a cancelled context: %v", err)
	}
}

// package net's (*TCPListener).SetDeadline needs the listener to have
// SetDeadline: a past deadline fails Accept with a timeout, also a
// blocked one; clearing it lets Accept work again.
func TestListenerDeadline(t *testing.T) {
	a, b := pair(t)
	ln := listenTCP(t, b, ":99")
	dl, ok := ln.(interface{ SetDeadline(time.Time) error })
	if !ok {
		t.Fatalf("%T has no SetDeadline", ln)
	}
	isTimeout := func(err error) bool {
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
	}
	dl.SetDeadline(time.Unix(1, 0))
	if _, err := ln.Accept(); !isTimeout(err) {
		t.Fatalf("Accept with a past deadline: %v", err)
	}
	// A future deadline fires.
	dl.SetDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := ln.Accept(); !isTimeout(err) {
		t.Fatalf("Accept with a 20ms deadline: %v", err)
	}
	// A blocked Accept wakes when the deadline is moved into the past.
	dl.SetDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		errc <- err
	}()
	dl.SetDeadline(time.Unix(1, 0))
	select {
	case err := <-errc:
		if !isTimeout(err) {
			t.Fatalf("blocked Accept after a past deadline: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("a past deadline did not wake a blocked Accept")
	}
	// Cleared: Accept works, also across a deadline change.
	dl.SetDeadline(time.Now().Add(time.Hour))
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		errc <- err
	}()
	dl.SetDeadline(time.Time{})
	c, err := dialContext(a)(ctxT(t), "tcp", "10.0.0.2:99")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-errc; err != nil {
		t.Fatalf("Accept after clearing the deadline: %v", err)
	}
}
