//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/internal/metrics/metricstest"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/stack"
)

// startEcho serves echo on a fresh TAP's stack, with metrics on port
// 9100; the returned function stops it and waits.
func startEcho(t *testing.T, grace time.Duration, spec string) (*server, *taptest.TAP, *flow.Sink, func()) {
	t.Helper()
	tp := taptest.New(t)
	s, err := stack.New(stacktest.Impair(t, tp.Dev, spec, 0), stack.Config{Addr: tp.Ours})
	if err != nil {
		t.Fatal(err)
	}
	logs := &flow.Sink{}
	e := newServer(s, Config{Port: 7, Grace: grace, Metrics: 9100,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err := e.start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.serve(ctx) }()
	stop := sync.OnceFunc(func() { cancel(); <-done; s.Close() })
	t.Cleanup(stop)
	return e, tp, logs, stop
}

// 50 kernel TCP clients at once each send 1 MiB of their own and read it
// back; every echo is SHA-256 exact. The metrics endpoint then shows the
// traffic.
func TestEcho50Clients(t *testing.T) {
	testClients(t, 50, 1<<20, "")
}

// The same, fewer, over a lossy, reordering, duplicating link: exact still.
func TestEchoClientsImpaired(t *testing.T) {
	testClients(t, 10, 1<<20, "loss=0.01,reorder=0.01,dup=0.005,seed=9")
}

func testClients(t *testing.T, clients, size int, spec string) {
	e, tp, _, _ := startEcho(t, time.Second, spec)
	addr := net.JoinHostPort(tp.OursAddr().String(), "7")
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp4", addr, 10*time.Second)
			if err != nil {
				errs <- fmt.Errorf("client %d: %v", i, err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Minute))
			go func() {
				io.Copy(c, stacktest.Stream(uint64(i), int64(size)))
				c.(*net.TCPConn).CloseWrite()
			}()
			h := sha256.New()
			n, err := io.Copy(h, c)
			want := sha256.New()
			io.Copy(want, stacktest.Stream(uint64(i), int64(size)))
			if err != nil || n != int64(size) || !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
				errs <- fmt.Errorf("client %d: %d bytes back, %v, sha256 match %v", i, n, err, bytes.Equal(h.Sum(nil), want.Sum(nil)))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	stacktest.WaitFor(t, "every echo connection to end", 10*time.Second, func() bool { return e.Stats().TCPActive == 0 })
	if st := e.Stats(); st.TCPAccepted != uint64(clients) || st.TCPBytes != uint64(clients*size) {
		t.Errorf("echo stats: %+v", st)
	}
	if st := e.s.Stats().TCP; spec != "" && st.Retransmits == 0 {
		t.Errorf("impaired link, yet no retransmission: %+v", st)
	}
	m := metricstest.Scrape(t, netip.AddrPortFrom(tp.OursAddr(), 9100))
	// The TAP hands up TCP segments of up to 64 KiB (its offloads), so at
	// least one datagram per 64 KiB received.
	if m[`mirago_echo_tcp_accepted{family="ipv4"}`] != float64(clients) || m[`mirago_echo_tcp_bytes{family="ipv4"}`] != float64(clients*size) ||
		m[`mirago_ip_received{family="ipv4"}`] < float64(clients*size/65535) || m[`mirago_tcp_passive_opens{family="ipv4"}`] < float64(clients) || m[`mirago_tcp_states{state="LISTEN"}`] != 2 {
		t.Errorf("metrics implausible: echo accepted %v bytes %v, ip received %v, passive opens %v, listen %v",
			m[`mirago_echo_tcp_accepted{family="ipv4"}`], m[`mirago_echo_tcp_bytes{family="ipv4"}`], m[`mirago_ip_received{family="ipv4"}`], m[`mirago_tcp_passive_opens{family="ipv4"}`],
			m[`mirago_tcp_states{state="LISTEN"}`])
	}
}

// Shutdown stops accepting, lets an open connection finish within the
// grace period and closes one that outlasts it.
func TestEchoGracefulShutdown(t *testing.T) {
	_, tp, logs, stop := startEcho(t, 1500*time.Millisecond, "")
	addr := net.JoinHostPort(tp.OursAddr().String(), "7")
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	finisher, lingerer := dial(), dial()
	defer finisher.Close()
	defer lingerer.Close()
	for _, c := range []net.Conn{finisher, lingerer} {
		c.Write([]byte("a"))
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			t.Fatal(err)
		}
	}
	stopped := make(chan struct{})
	start := time.Now()
	go func() { stop(); close(stopped) }()
	stacktest.WaitFor(t, "the listener to close", 5*time.Second, func() bool {
		c, err := net.DialTimeout("tcp4", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	finisher.Write([]byte("b"))
	finisher.(*net.TCPConn).CloseWrite()
	if rest, err := io.ReadAll(finisher); err != nil || string(rest) != "b" {
		t.Fatalf("open connection during grace: %q, %v", rest, err)
	}
	if _, err := io.Copy(io.Discard, lingerer); err != nil && !isReset(err) {
		t.Fatalf("lingering connection: %v", err)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("echo did not stop")
	}
	if took := time.Since(start); took < 1400*time.Millisecond || took > 5*time.Second {
		t.Fatalf("shutdown took %v with a 1.5s grace", took)
	}
	if !strings.Contains(logs.String(), "grace period over") {
		t.Fatalf("log:\n%s", logs.String())
	}
}

func isReset(err error) bool { return err != nil && strings.Contains(err.Error(), "reset") }

// TestBinary builds the echo app and runs it as a user would: it creates
// its TAP, echoes over TCP, serves metrics, and exits 0 on SIGTERM.
func TestBinary(t *testing.T) {
	taptest.Require(t)
	// -short is for quick runs by hand; CI and make test never set it.
	if testing.Short() {
		t.Skip("skipping the binary build in -short mode")
	}
	bin := filepath.Join(t.TempDir(), "echo")
	if out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "github.com/mirago/mirago/app/echo").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	n, name := taptest.Subnet(t)
	ours := netip.AddrFrom4([4]byte{10, 199, byte(n), 15})
	cmd := exec.Command(bin, "-tap", name, "-ip", ours.String()+"/24", "-gw", "", "-port", "7", "-metrics", "9100", "-grace", "2s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &flow.Sink{}
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
		}
		io.Copy(io.Discard, stderr)
		exited <- cmd.Wait()
	}()
	done := false
	defer func() {
		if !done {
			cmd.Process.Kill()
			<-exited
			t.Logf("echo log:\n%s", logs.String())
		}
	}()
	stacktest.WaitFor(t, "the app to create "+name, 10*time.Second, func() bool {
		_, err := os.Stat("/sys/class/net/" + name)
		return err == nil
	})
	taptest.ConfigureKernel(t, name, n)
	var c net.Conn
	stacktest.WaitFor(t, "the echo port to answer", 15*time.Second, func() bool {
		c, err = net.DialTimeout("tcp4", net.JoinHostPort(ours.String(), "7"), time.Second)
		return err == nil
	})
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("hello, binary"))
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(got) != "hello, binary" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	if m := metricstest.Scrape(t, netip.AddrPortFrom(ours, 9100)); m[`mirago_echo_tcp_accepted{family="ipv4"}`] != 1 || m[`mirago_ip_received{family="ipv4"}`] <= 0 {
		t.Errorf("metrics: accepted %v, ip received %v", m[`mirago_echo_tcp_accepted{family="ipv4"}`], m[`mirago_ip_received{family="ipv4"}`])
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		done = true
		if err != nil {
			t.Fatalf("echo exited with %v after SIGTERM; log:\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("echo did not exit within 15s of SIGTERM")
	}
	for _, want := range []string{`msg="stack up"`, `msg="echo serving"`, `msg="metrics serving"`, `msg="shutting down"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}
