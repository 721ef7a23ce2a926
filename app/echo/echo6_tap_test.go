//go:build linux

package main

import (
	"bufio"
	"crypto/sha256"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/internal/metrics/metricstest"
	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

// TestBinaryIPv6 runs the echo app as a user would, with a static IPv6
// address (-ip6, taken after Duplicate Address Detection) beside its IPv4
// one; the kernel, as the client over the TAP, resolves it by Neighbor
// Discovery and sends 100 MiB (8 MiB under -race) through the TCP echo
// over IPv6, reading it all back SHA-256 exact, and a datagram through
// the UDP echo; the metrics count the connection as IPv6.
func TestBinaryIPv6(t *testing.T) {
	taptest.Require(t)
	if testing.Short() {
		t.Skip("skipping the binary build in -short mode")
	}
	size := require.FullSize(t, 100<<20, 8<<20)
	if os.Getenv("MIRAGO_QUICK") != "" {
		size = 8 << 20
	}
	bin := filepath.Join(t.TempDir(), "echo")
	if out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "github.com/mirago/mirago/app/echo").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	n, name := taptest.Subnet(t)
	ours := netip.AddrFrom4([4]byte{10, 199, byte(n), 15})
	ours6 := netip.MustParseAddr("fd00:199:" + strconv.FormatInt(int64(n), 16) + "::15")
	cmd := exec.Command(bin, "-tap", name, "-ip", ours.String()+"/24", "-gw", "", "-ip6", ours6.String()+"/64",
		"-slaac=false", "-port", "7", "-metrics", "9100", "-grace", "2s")
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
	taptest.ConfigureKernel6(t, name, n)
	stacktest.WaitFor(t, "our static IPv6 address after DAD", 15*time.Second, func() bool {
		return strings.Contains(logs.String(), `msg="ipv6 address" addr=`+ours6.String()+`/64 kind=static status=preferred`)
	})
	addr := netip.AddrPortFrom(ours6, 7).String()
	var c net.Conn
	stacktest.WaitFor(t, "the echo port over IPv6", 15*time.Second, func() bool {
		c, err = net.DialTimeout("tcp6", addr, time.Second)
		return err == nil
	})
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(c, stacktest.Stream(11, size))
		c.(*net.TCPConn).CloseWrite()
		sent <- err
	}()
	h := sha256.New()
	got, err := io.Copy(h, c)
	c.Close()
	if err := <-sent; err != nil {
		t.Fatalf("sending: %v", err)
	}
	want := sha256.New()
	io.Copy(want, stacktest.Stream(11, size))
	if err != nil || got != size || string(h.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatalf("TCP echo over IPv6: %d of %d bytes back, %v, sha256 match %v", got, size, err, string(h.Sum(nil)) == string(want.Sum(nil)))
	}
	u, err := net.DialUDP("udp6", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ours6, 7)))
	if err != nil {
		t.Fatal(err)
	}
	u.SetDeadline(time.Now().Add(5 * time.Second))
	u.Write([]byte("over udp6"))
	buf := make([]byte, 64)
	if n, err := u.Read(buf); err != nil || string(buf[:n]) != "over udp6" {
		t.Fatalf("UDP echo over IPv6: %q, %v", buf[:n], err)
	}
	u.Close()
	m := metricstest.Scrape(t, netip.AddrPortFrom(ours6, 9100))
	if m[`mirago_echo_tcp_accepted{family="ipv6"}`] != 1 || m[`mirago_echo_tcp_bytes{family="ipv6"}`] != float64(size) ||
		m[`mirago_echo_udp_datagrams{family="ipv6"}`] != 1 || m[`mirago_echo_tcp_accepted{family="ipv4"}`] != 0 {
		t.Errorf("metrics by family: tcp accepted %v/%v, bytes %v, udp %v", m[`mirago_echo_tcp_accepted{family="ipv6"}`],
			m[`mirago_echo_tcp_accepted{family="ipv4"}`], m[`mirago_echo_tcp_bytes{family="ipv6"}`], m[`mirago_echo_udp_datagrams{family="ipv6"}`])
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
	if !strings.Contains(logs.String(), `msg="ipv6 up" ip6=`+ours6.String()+"/64 slaac=false") {
		t.Errorf("log lacks the IPv6 settings:\n%s", logs.String())
	}
}
