//go:build linux

package main

import (
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/flow/flowtest"
	"github.com/mirago/mirago/internal/metrics/metricstest"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

// curlThrough downloads url with curl and returns the body's SHA-256 and
// length.
func curlThrough(t *testing.T, url string) ([32]byte, int64) {
	t.Helper()
	cmd := exec.Command("curl", "-sS", "--fail", "--max-time", "600", url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, _ := io.Copy(h, out)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("curl %s: %v: %s", url, err, stderr.String())
	}
	return [32]byte(h.Sum(nil)), n
}

// A 100 MiB download by curl (kernel) through the proxy (our stack) from a
// kernel HTTP server arrives intact; the connection is logged and counted.
func TestProxyCurlDownload(t *testing.T) {
	taptest.Require(t, "curl")
	testDownload(t, "", bigSize())
}

// The same with loss, reordering and duplication on our link: slower, but
// exact.
func TestProxyCurlDownloadImpaired(t *testing.T) {
	taptest.Require(t, "curl")
	size := int64(16 << 20)
	if bigSize() < size {
		size = 4 << 20
	}
	r := testDownload(t, "loss=0.01,reorder=0.01,dup=0.005,seed=5", size)
	if st := r.p.s.Stats().TCP; st.Retransmits == 0 {
		t.Errorf("impaired link but no retransmission: %+v", st)
	}
}

func testDownload(t *testing.T, spec string, size int64) *running {
	s, tp := tapStack(t, spec)
	up, want := blobServer(t, tp, size)
	r := startProxy(t, s, tp, Config{Upstream: up, Metrics: 9100, IdleTimeout: 30 * time.Second})
	start := time.Now()
	got, n := curlThrough(t, "http://"+r.addr.String()+"/blob")
	if n != size || got != want {
		t.Fatalf("curl got %d bytes (want %d), sha256 match %v", n, size, got == want)
	}
	t.Logf("%d MiB in %v", size>>20, time.Since(start).Round(time.Millisecond))
	stacktest.WaitFor(t, "the connection log line", 10*time.Second, func() bool {
		return strings.Contains(r.logs.String(), `msg="proxy conn closed"`)
	})
	line := logLine(r.logs.String(), "proxy conn closed")
	for _, want := range []string{"client=" + tp.Kernel.String() + ":", "upstream=" + up, "bytes_down=", "bytes_up=", "duration=", "outcome=ok"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %q: %s", want, line)
		}
	}
	st := r.p.Stats()
	if st.Accepted != 1 || st.BytesDown < uint64(size) || st.BytesUp == 0 || st.Active != 0 {
		t.Errorf("proxy stats: %+v", st)
	}
	m := metricstest.Scrape(t, netip.AddrPortFrom(tp.OursAddr(), 9100))
	ul := `{pool="main",upstream="` + up + `"}`
	if m[`mirago_proxy_listener_connections{listener="main",family="ipv4"}`] != 1 || m[`mirago_proxy_listener_bytes_out{listener="main"}`] < float64(size) ||
		m[`mirago_proxy_upstream_bytes_received`+ul] < float64(size) || m[`mirago_proxy_upstream_connect_seconds_count`+ul] != 1 ||
		m[`mirago_proxy_upstream_up`+ul] != 1 || m[`mirago_proxy_pool_connections{pool="main",family="ipv4"}`] != 1 ||
		m[`mirago_ip_received{family="ipv4"}`] <= 0 || m[`mirago_tcp_segments_in{family="ipv4"}`] <= 0 || m[`mirago_tcp_states{state="LISTEN"}`] < 2 ||
		m["mirago_device_rx_frames"] <= 0 {
		t.Errorf("metrics implausible: %v", m)
	}
	return r
}

// logLine returns the first log line containing msg.
func logLine(logs, msg string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, msg) {
			return l
		}
	}
	return ""
}

// Half-close goes through both ways: the client's FIN reaches the
// upstream, which still answers, and the upstream's FIN reaches the
// client.
func TestProxyHalfClose(t *testing.T) {
	flowtest.CheckGoroutines(t)
	s, tp := tapStack(t, "")
	ln := kernelListener(t, tp)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, _ := io.ReadAll(c) // to the client's FIN
		c.Write([]byte("reply to " + string(req)))
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
	}()
	r := startProxy(t, s, tp, Config{Upstream: ln.Addr().String()})
	c, err := net.DialTimeout("tcp4", r.addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("question"))
	c.(*net.TCPConn).CloseWrite()
	resp, err := io.ReadAll(c)
	if err != nil || string(resp) != "reply to question" {
		t.Fatalf("half-closed exchange: %q, %v", resp, err)
	}
}

// readErr reads from c until an error, within d.
func readErr(t *testing.T, c net.Conn, d time.Duration) (int64, error, time.Duration) {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(d))
	n, err := io.Copy(io.Discard, c)
	if err == nil {
		err = io.EOF
	}
	return n, err, time.Since(start)
}

// dialReset connects to addr and reads until an error, which it returns:
// a client refused by a limit (checked after the handshake) gets a RST,
// which may arrive before connect returns.
func dialReset(t *testing.T, addr netip.AddrPort) error {
	t.Helper()
	c, err := net.DialTimeout("tcp4", addr.String(), 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err, _ = readErr(t, c, 5*time.Second)
	return err
}

// A client outside -allow is refused at SYN time: its connect fails with
// "connection refused" (no connection is made), and the refusal is
// counted and logged.
func TestProxyACLRefusal(t *testing.T) {
	flowtest.CheckGoroutines(t)
	s, tp := tapStack(t, "")
	ln := kernelListener(t, tp)
	r := startProxy(t, s, tp, Config{Upstream: ln.Addr().String(), Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	c, err := net.DialTimeout("tcp4", r.addr.String(), 5*time.Second)
	if err == nil {
		c.Close()
		t.Fatal("refused client: connect succeeded")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("refused client: %v, want connection refused", err)
	}
	if st := r.p.Stats(); st.RefusedACL != 1 || st.Accepted != 0 {
		t.Fatalf("stats: %+v", st)
	}
	if st := s.Stats().TCP; st.ListenFiltered != 1 || st.PassiveOpens != 0 || st.SynCookiesSent != 0 {
		t.Fatalf("TCP: filtered %d, passive opens %d, cookies %d", st.ListenFiltered, st.PassiveOpens, st.SynCookiesSent)
	}
	stacktest.WaitFor(t, "the log line", 5*time.Second, func() bool { return strings.Contains(r.logs.String(), "proxy refused") })
	if l := logLine(r.logs.String(), "proxy refused"); !strings.Contains(l, "reason=acl") || !strings.Contains(l, tp.Kernel.String()) {
		t.Fatalf("refusal log line: %q", l)
	}
}

// A client inside -allow gets through the accept filter.
func TestProxyACLAllowed(t *testing.T) {
	flowtest.CheckGoroutines(t)
	s, tp := tapStack(t, "")
	ln := kernelListener(t, tp)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	allow := netip.PrefixFrom(tp.Kernel, 32)
	r := startProxy(t, s, tp, Config{Upstream: ln.Addr().String(), Allow: []netip.Prefix{allow}})
	c, err := net.DialTimeout("tcp4", r.addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("ping"))
	var b [4]byte
	if _, err := io.ReadFull(c, b[:]); err != nil || string(b[:]) != "ping" {
		t.Fatalf("round trip: %q, %v", b, err)
	}
	if st := r.p.Stats(); st.RefusedACL != 0 || st.Accepted != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

// Past -max-conns, and past -max-per-client, clients are reset.
func TestProxyLimits(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       Config
		wantLimit string
	}{
		{"max-conns", Config{MaxConns: 2}, "max-conns"},
		{"max-per-client", Config{MaxConns: 10, MaxPerClient: 2}, "max-per-client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flowtest.CheckGoroutines(t)
			s, tp := tapStack(t, "")
			ln := kernelListener(t, tp)
			go func() { // an upstream that holds connections open
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() { io.Copy(c, c); c.Close() }()
				}
			}()
			cfg := tc.cfg
			cfg.Upstream = ln.Addr().String()
			r := startProxy(t, s, tp, cfg)
			var held []net.Conn
			defer func() {
				for _, c := range held {
					c.Close()
				}
			}()
			for i := range 2 {
				c, err := net.DialTimeout("tcp4", r.addr.String(), 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
				// A round trip proves the connection is proxied.
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write([]byte{byte(i)}); err != nil {
					t.Fatal(err)
				}
				var b [1]byte
				if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != byte(i) {
					t.Fatalf("conn %d: %v", i, err)
				}
			}
			if err := dialReset(t, r.addr); !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("third client: %v, want connection reset", err)
			}
			if st := r.p.Stats(); st.RefusedLimit != 1 || st.Accepted != 2 || st.Active != 2 {
				t.Fatalf("stats: %+v", st)
			}
			stacktest.WaitFor(t, "the log line", 5*time.Second, func() bool { return strings.Contains(r.logs.String(), "proxy refused") })
			if l := logLine(r.logs.String(), "proxy refused"); !strings.Contains(l, "reason="+tc.wantLimit) {
				t.Fatalf("refusal log line: %q", l)
			}
			// Closing one frees its slot.
			held[0].Close()
			held = held[1:]
			stacktest.WaitFor(t, "a free slot", 5*time.Second, func() bool { return r.p.Stats().Active == 1 })
			c2, err := net.DialTimeout("tcp4", r.addr.String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c2)
			c2.SetDeadline(time.Now().Add(5 * time.Second))
			c2.Write([]byte{9})
			var b [1]byte
			if _, err := io.ReadFull(c2, b[:]); err != nil || b[0] != 9 {
				t.Fatalf("client after a slot freed: %v", err)
			}
		})
	}
}

// An upstream that refuses: the client is reset at once.
func TestProxyUpstreamDown(t *testing.T) {
	flowtest.CheckGoroutines(t)
	s, tp := tapStack(t, "")
	ln := kernelListener(t, tp)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: the kernel answers RST
	r := startProxy(t, s, tp, Config{Upstream: addr})
	start := time.Now()
	if err := dialReset(t, r.addr); !errors.Is(err, syscall.ECONNRESET) || time.Since(start) > 2*time.Second {
		t.Fatalf("client: %v after %v; want a reset at once", err, time.Since(start))
	}
	stacktest.WaitFor(t, "the log line", 5*time.Second, func() bool { return strings.Contains(r.logs.String(), "proxy conn closed") })
	if l := logLine(r.logs.String(), "proxy conn closed"); !strings.Contains(l, "outcome=upstream-refused") {
		t.Fatalf("log line: %s", l)
	}
	if st := r.p.Stats(); st.UpstreamErrors != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

// An upstream that does not answer at all: the connect timeout resets the
// client.
func TestProxyUpstreamConnectTimeout(t *testing.T) {
	flowtest.CheckGoroutines(t)
	s, tp := tapStack(t, "")
	// 10.199.N.77 is on the link but nobody answers ARP for it.
	dead := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 199, byte(tp.N), 77}), 80)
	r := startProxy(t, s, tp, Config{Upstream: dead.String(), ConnectTimeout: 700 * time.Millisecond})
	c, err := net.DialTimeout("tcp4", r.addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err, took := readErr(t, c, 10*time.Second)
	if !errors.Is(err, syscall.ECONNRESET) || took < 500*time.Millisecond || took > 3*time.Second {
		t.Fatalf("client read: %v after %v; want a reset after the 700ms connect timeout", err, took)
	}
	stacktest.WaitFor(t, "the log line", 5*time.Second, func() bool { return strings.Contains(r.logs.String(), "proxy conn closed") })
	if l := logLine(r.logs.String(), "proxy conn closed"); !strings.Contains(l, "outcome=connect-timeout") {
		t.Fatalf("log line: %s", l)
	}
}

// An upstream that resets mid-transfer: the client is reset promptly too,
// so a truncated stream never looks complete.
func TestProxyUpstreamResetMidTransfer(t *testing.T) {
	flowtest.CheckGoroutines(t)
	s, tp := tapStack(t, "")
	ln := kernelListener(t, tp)
	sent, dialed := make(chan struct{}), make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		// Not before the client's connect has returned: a reset passed
		// on before then fails the connect itself (Go's Dial reads
		// SO_ERROR after the handshake, and the reset is there).
		<-dialed
		io.Copy(c, stacktest.Stream(3, 1<<20))
		close(sent)
		c.(*net.TCPConn).SetLinger(0)
		c.Close() // RST
	}()
	r := startProxy(t, s, tp, Config{Upstream: ln.Addr().String()})
	c, err := net.DialTimeout("tcp4", r.addr.String(), 5*time.Second)
	close(dialed)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Read slowly at first so the reset finds data in flight.
	var b [1024]byte
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sent:
	case <-time.After(10 * time.Second):
		t.Fatal("upstream never sent its data")
	}
	n, err, took := readErr(t, c, 5*time.Second)
	if !errors.Is(err, syscall.ECONNRESET) || took > 3*time.Second {
		t.Fatalf("client read %d more bytes, then %v after %v; want a reset promptly", n, err, took)
	}
	stacktest.WaitFor(t, "the log line", 5*time.Second, func() bool { return strings.Contains(r.logs.String(), "proxy conn closed") })
	if l := logLine(r.logs.String(), "proxy conn closed"); !strings.Contains(l, "outcome=upstream-reset") {
		t.Fatalf("log line: %s", l)
	}
}

// An upstream that stalls: the idle timeout closes both sides.
func TestProxyIdleTimeout(t *testing.T) {
	flowtest.CheckGoroutines(t)
	s, tp := tapStack(t, "")
	ln := kernelListener(t, tp)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c // holds it, says nothing
		}
	}()
	r := startProxy(t, s, tp, Config{Upstream: ln.Addr().String(), IdleTimeout: 500 * time.Millisecond})
	c, err := net.DialTimeout("tcp4", r.addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("anyone?"))
	_, err, took := readErr(t, c, 10*time.Second)
	if err != io.EOF || took > 3*time.Second {
		t.Fatalf("client read: %v after %v; want EOF after the 500ms idle timeout", err, took)
	}
	select {
	case uc := <-accepted:
		defer uc.Close()
		buf := make([]byte, 16)
		uc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _ := io.ReadFull(uc, buf[:7])
		if _, err := uc.Read(buf); err != io.EOF || string(buf[:n]) != "anyone?" {
			t.Fatalf("upstream got %q then %v; want the bytes then EOF", buf[:n], err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("upstream never accepted")
	}
	stacktest.WaitFor(t, "the log line", 5*time.Second, func() bool { return strings.Contains(r.logs.String(), "proxy conn closed") })
	if l := logLine(r.logs.String(), "proxy conn closed"); !strings.Contains(l, "outcome=idle-timeout") {
		t.Fatalf("log line: %s", l)
	}
}

// On shutdown the proxy stops accepting, lets an open connection finish
// within the grace period, and closes one that outlasts it.
func TestProxyGracefulShutdown(t *testing.T) {
	flowtest.CheckGoroutines(t)
	s, tp := tapStack(t, "")
	ln := kernelListener(t, tp)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	r := startProxy(t, s, tp, Config{Upstream: ln.Addr().String(), Grace: 1500 * time.Millisecond})
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp4", r.addr.String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("x"))
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		return c
	}
	finisher, lingerer := dial(), dial()
	defer finisher.Close()
	defer lingerer.Close()
	start := time.Now()
	r.cancel()
	// New clients are turned away (no listener: RST).
	stacktest.WaitFor(t, "the listener to close", 5*time.Second, func() bool {
		c, err := net.DialTimeout("tcp4", r.addr.String(), time.Second)
		if err != nil {
			return errors.Is(err, syscall.ECONNREFUSED)
		}
		c.Close()
		return false
	})
	// An open connection still works, and finishes.
	finisher.Write([]byte("y"))
	var b [1]byte
	if _, err := io.ReadFull(finisher, b[:]); err != nil || b[0] != 'y' {
		t.Fatalf("open connection during grace: %v", err)
	}
	finisher.(*net.TCPConn).CloseWrite()
	if _, err := io.ReadAll(finisher); err != nil {
		t.Fatalf("finishing during grace: %v", err)
	}
	// The other is closed when the grace period ends.
	if _, err, _ := readErr(t, lingerer, 10*time.Second); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("lingering connection: %v", err)
	}
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if took := time.Since(start); took < 1400*time.Millisecond || took > 5*time.Second {
		t.Fatalf("shutdown took %v with a 1.5s grace", took)
	}
	if l := logLine(r.logs.String(), "grace period over"); !strings.Contains(l, "open=1") {
		t.Fatalf("grace log line: %q", l)
	}
}

// A client that resets: the upstream is reset too.
func TestProxyClientReset(t *testing.T) {
	flowtest.CheckGoroutines(t)
	s, tp := tapStack(t, "")
	ln := kernelListener(t, tp)
	upErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			upErr <- err
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = io.Copy(io.Discard, c)
		upErr <- err
	}()
	r := startProxy(t, s, tp, Config{Upstream: ln.Addr().String()})
	c, err := net.DialTimeout("tcp4", r.addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("some data"))
	stacktest.WaitFor(t, "the upstream connection", 5*time.Second, func() bool { return r.p.Stats().BytesUp == 9 })
	c.(*net.TCPConn).SetLinger(0)
	c.Close() // RST
	select {
	case err := <-upErr:
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("upstream read: %v, want a reset", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("upstream saw nothing")
	}
	stacktest.WaitFor(t, "the log line", 5*time.Second, func() bool { return strings.Contains(r.logs.String(), "proxy conn closed") })
	if l := logLine(r.logs.String(), "proxy conn closed"); !strings.Contains(l, "outcome=client-reset") {
		t.Fatalf("log line: %s", l)
	}
}
