//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/flow/proxyproto"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

// runHAProxy runs haproxy in the foreground with the configuration cfg
// and stops it when the test ends; it returns once every address in
// ready accepts connections.
func runHAProxy(t *testing.T, cfg string, ready ...string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("haproxy", "-c", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	cmd := exec.Command("haproxy", "-db", "-f", path)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("haproxy said:\n%s", out.String())
		}
	})
	for _, a := range ready {
		stacktest.WaitFor(t, "haproxy listening on "+a, 10*time.Second, func() bool {
			c, err := net.DialTimeout("tcp4", a, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
}

// freePort returns a kernel TCP port free on addr now.
func freePort(t *testing.T, addr string) string {
	ln, err := net.Listen("tcp4", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// We send PROXY v1 and v2 headers to an upstream that understands them:
// HAProxy, with accept-proxy, answers each request with the client
// address it read from our header, which must be the kernel client's.
func TestProxySendProxyToHAProxy(t *testing.T) {
	taptest.Require(t, "haproxy")
	tp := taptest.New(t)
	hp := freePort(t, tp.Kernel.String())
	runHAProxy(t, fmt.Sprintf(`
defaults
	mode http
	timeout connect 5s
	timeout client 10s
	timeout server 10s
frontend fromproxy
	bind %s accept-proxy
	http-request return status 200 content-type text/plain lf-string "%%[src]:%%[src_port] %%[dst]:%%[dst_port]\n"
`, hp), hp)
	startTOML(t, tp, fmt.Sprintf(`
[listener.one]
port = 8081
pool = "v1"
[listener.two]
port = 8082
pool = "v2"
[pool.v1]
upstreams = [%q]
send_proxy = "v1"
[pool.v2]
upstreams = [%q]
send_proxy = "v2"
`, hp, hp))
	for _, port := range []uint16{8081, 8082} {
		addr := netip.AddrPortFrom(tp.OursAddr(), port)
		c, err := net.DialTimeout("tcp4", addr.String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n")
		resp, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		body := string(resp[strings.Index(string(resp), "\r\n\r\n")+4:])
		want := fmt.Sprintf("%s %s\n", c.LocalAddr(), addr)
		if body != want {
			t.Errorf("port %d: HAProxy read the client as %q, want %q", port, body, want)
		}
	}
}

// proxyEcho is a kernel upstream that reads the PROXY header we send and
// answers with the client it names, then closes.
func proxyEcho(t *testing.T, tp *taptest.TAP) string {
	ln := kernelListener(t, tp)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				h, _, err := proxyproto.Read(c, 0)
				if err != nil {
					fmt.Fprintf(c, "error: %v\n", err)
					return
				}
				fmt.Fprintf(c, "%s\n", h.Source)
			}()
		}
	}()
	return ln.Addr().String()
}

// HAProxy sends us PROXY v1 and v2 headers (send-proxy, send-proxy-v2):
// we take the client it names (a loopback address of the kernel) and pass
// it on in our own header to the upstream.
func TestProxyAcceptProxyFromHAProxy(t *testing.T) {
	taptest.Require(t, "haproxy")
	tp := taptest.New(t)
	up := proxyEcho(t, tp)
	fe1, fe2 := freePort(t, "127.0.0.1"), freePort(t, "127.0.0.1")
	r := startTOML(t, tp, fmt.Sprintf(`
[listener.v1]
port = 8083
pool = "p"
accept_proxy = true
proxy_from = [%q]
allow = ["127.0.0.0/8"]
[listener.v2]
port = 8084
pool = "p"
accept_proxy = true
proxy_from = [%q]
allow = ["127.0.0.0/8"]
[pool.p]
upstreams = [%q]
send_proxy = "v1"
`, tp.Kernel, tp.Kernel, up))
	runHAProxy(t, fmt.Sprintf(`
defaults
	mode tcp
	timeout connect 5s
	timeout client 10s
	timeout server 10s
listen v1
	bind %s
	server mirago %s:8083 send-proxy
listen v2
	bind %s
	server mirago %s:8084 send-proxy-v2
`, fe1, tp.OursAddr(), fe2, tp.OursAddr()), fe1, fe2)
	for _, fe := range []string{fe1, fe2} {
		c, err := net.DialTimeout("tcp4", fe, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || strings.TrimSpace(line) != c.LocalAddr().String() {
			t.Errorf("through HAProxy %s: upstream saw %q (%v), want the client %s", fe, line, err, c.LocalAddr())
		}
	}
	// (HAProxy's readiness probes above made connections too.)
	stacktest.WaitFor(t, "the log lines", 5*time.Second, func() bool {
		return strings.Count(r.logs.String(), `msg="proxy conn closed" client=127.0.0.1:`) >= 2
	})
	for _, l := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(l, `client=127.0.0.1:`) && !strings.Contains(l, "peer="+tp.Kernel.String()+":") {
			t.Fatalf("log line lacks the peer that sent the header: %s", l)
		}
	}
}
