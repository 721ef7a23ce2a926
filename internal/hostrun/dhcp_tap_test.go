//go:build linux

package hostrun

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/dnsmasqtest"
	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/stack/inet"
)

// TestStartDHCP is the -dhcp path of Start in process, against dnsmasq on
// a persistent TAP: Start returns with the lease applied, Env.Resolver
// resolves through our stack, and Close releases the lease.
func TestStartDHCP(t *testing.T) {
	taptest.Require(t, "ping")
	dnsmasqtest.Require(t)
	tp := dnsmasqtest.PersistentTAP(t)
	srv := dnsmasqtest.Start(t, tp, 0)

	f := Flags{TAP: tp.Name, DHCP: true, DHCPTimeout: 20 * time.Second, Log: "debug"}
	env, err := f.Start()
	if err != nil {
		t.Fatalf("Start: %v\ndnsmasq:\n%s", err, srv.Log())
	}
	closed := false
	defer func() {
		if !closed {
			env.Close()
		}
	}()
	if env.DHCP == nil {
		t.Fatal("Env.DHCP is nil with -dhcp")
	}
	l, ok := env.DHCP.Lease()
	if !ok || env.Stack.Addr() != l.Addr || env.Config.Addr != l.Addr {
		t.Fatalf("lease %v (held %v), stack address %v, Env.Config.Addr %v", l.Addr, ok, env.Stack.Addr(), env.Config.Addr)
	}
	if kernel, _ := inet.Addr4From(tp.Kernel); l.Router != kernel || env.Config.Gateway != kernel {
		t.Fatalf("router %v, Env.Config.Gateway %v, want %v", l.Router, env.Config.Gateway, kernel)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ap, err := env.Resolver().Resolve(ctx, dnsmasqtest.UpstreamName+":7")
	if err != nil || ap != netip.AddrPortFrom(tp.Kernel, 7) {
		t.Fatalf("Resolve: %v, %v", ap, err)
	}
	srv.WaitLog(t, 5*time.Second, "query[A] "+dnsmasqtest.UpstreamName+" from "+l.Addr.Addr.String())

	closed = true
	if err := env.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	srv.WaitLog(t, 5*time.Second, "DHCPRELEASE("+tp.Name+") "+l.Addr.Addr.String())
}

// TestStartDHCPTimeout: with no DHCP server Start fails after -dhcp-timeout
// with a clear reason.
func TestStartDHCPTimeout(t *testing.T) {
	taptest.Require(t)
	tp := dnsmasqtest.PersistentTAP(t)
	f := Flags{TAP: tp.Name, DHCP: true, DHCPTimeout: 500 * time.Millisecond, Log: "error"}
	env, err := f.Start()
	if err == nil {
		env.Close()
		t.Fatal("Start succeeded without a DHCP server")
	}
	if !strings.Contains(err.Error(), "no lease on "+tp.Name+" within 500ms") {
		t.Fatalf("error %q does not say that no lease came in time", err)
	}
	// The TAP was released: it can be opened again.
	f.DHCP = false
	f.IP = tp.Ours.String()
	f.GW = ""
	if env, err = f.Start(); err != nil {
		t.Fatalf("TAP not released after the failed start: %v", err)
	}
	env.Close()
}

func TestParseDNS(t *testing.T) {
	got, err := ParseDNS(" 10.0.0.1, 10.0.0.2:5353, 2001:db8::53, [fd00::53]:5353,")
	if err != nil || len(got) != 4 || got[0] != netip.MustParseAddrPort("10.0.0.1:53") || got[1] != netip.MustParseAddrPort("10.0.0.2:5353") ||
		got[2] != netip.MustParseAddrPort("[2001:db8::53]:53") || got[3] != netip.MustParseAddrPort("[fd00::53]:5353") {
		t.Fatalf("ParseDNS = %v, %v", got, err)
	}
	for _, bad := range []string{"x", "::1", "10.0.0.1:0", "[::1]:53", "0.0.0.0", "ff02::fb", "[fe80::1%eth0]:53"} {
		if _, err := ParseDNS(bad); err == nil {
			t.Errorf("ParseDNS(%q) accepted", bad)
		}
	}
	if got, err := ParseDNS(""); err != nil || len(got) != 0 {
		t.Fatalf("ParseDNS(\"\") = %v, %v", got, err)
	}
}

// buildApp builds the app package pkg (e.g. "app/echo") into a temporary
// directory.
func buildApp(t *testing.T, pkg string) string {
	t.Helper()
	// -short is for quick runs by hand; CI and make test never set it.
	if testing.Short() {
		t.Skip("skipping the binary build in -short mode")
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(gobin, "build", "-o", bin, "github.com/mirago/mirago/"+pkg)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// app is an app binary running under test.
type app struct {
	t      *testing.T
	cmd    *exec.Cmd
	exited chan error
	done   bool
	mu     sync.Mutex
	log    strings.Builder
}

// startApp runs bin with args and waits for it to log its DHCP lease; it
// returns the leased address. The app is killed when the test ends unless
// Interrupt stopped it.
func startApp(t *testing.T, srv *dnsmasqtest.Server, bin string, args ...string) (*app, string) {
	t.Helper()
	a := &app{t: t, cmd: exec.Command(bin, args...), exited: make(chan error, 1)}
	stderr, err := a.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logc := make(chan string, 1)
	go func() {
		// Read the whole log (so the app never blocks on stderr), and
		// hand over the leased address once it is logged.
		re := regexp.MustCompile(`msg="stack addressed by dhcp" ip=(\S+)/`)
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			a.mu.Lock()
			a.log.WriteString(line + "\n")
			a.mu.Unlock()
			if m := re.FindStringSubmatch(line); m != nil && !sent {
				logc <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, stderr)
		close(logc)
		a.exited <- a.cmd.Wait()
	}()
	t.Cleanup(func() {
		if !a.done {
			a.cmd.Process.Kill()
			<-a.exited
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(bin), a.Log())
		}
	})
	select {
	case addr, ok := <-logc:
		if !ok {
			err := <-a.exited
			a.done = true
			t.Fatalf("%s exited (%v) without logging a lease\ndnsmasq:\n%s", bin, err, srv.Log())
		}
		return a, addr
	case <-time.After(30 * time.Second):
		t.Fatalf("no lease logged within 30s\ndnsmasq:\n%s", srv.Log())
	}
	return nil, ""
}

// Log returns what the app logged so far.
func (a *app) Log() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.String()
}

// Interrupt sends SIGINT and expects a clean exit (status 0).
func (a *app) Interrupt() {
	a.t.Helper()
	if err := a.cmd.Process.Signal(syscall.SIGINT); err != nil {
		a.t.Fatal(err)
	}
	select {
	case err := <-a.exited:
		a.done = true
		if err != nil {
			a.t.Fatalf("exit after SIGINT: %v", err)
		}
	case <-time.After(20 * time.Second):
		a.t.Fatal("no exit within 20s of SIGINT")
	}
}

func checkLeased(t *testing.T, tp *taptest.TAP, addr string) {
	t.Helper()
	ip := net.ParseIP(addr).To4()
	if ip == nil || ip[0] != 10 || ip[1] != 199 || int(ip[2]) != tp.N || ip[3] < 50 || ip[3] > 150 {
		t.Fatalf("leased %q, want 10.199.%d.50-150", addr, tp.N)
	}
}

// TestEchoBinaryDHCP builds app/echo and runs it as a user would, with
// -tap NAME -dhcp, against dnsmasq: it must log its lease, answer the
// kernel's ping and UDP echo at the leased address, and on SIGINT release
// the lease and exit 0.
func TestEchoBinaryDHCP(t *testing.T) {
	taptest.Require(t, "ping")
	dnsmasqtest.Require(t)
	bin := buildApp(t, "app/echo")
	tp := dnsmasqtest.PersistentTAP(t)
	srv := dnsmasqtest.Start(t, tp, 0)

	a, addr := startApp(t, srv, bin, "-tap", tp.Name, "-dhcp", "-dhcp-timeout", "20s", "-port", "7")
	checkLeased(t, tp, addr)
	out, err := exec.Command("ping", "-c", "2", "-i", "0.2", "-W", "2", addr).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "2 received") {
		t.Fatalf("kernel ping of %s: %v\n%s", addr, err, out)
	}
	c, err := net.Dial("udp4", net.JoinHostPort(addr, "7"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("dhcp echo"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "dhcp echo" {
		t.Fatalf("UDP echo at %s: %q, %v", addr, buf[:n], err)
	}
	a.Interrupt()
	srv.WaitLog(t, 5*time.Second, "DHCPRELEASE("+tp.Name+") "+addr)
}

// TestProxyBinaryDHCPName runs app/proxy with -dhcp and a name:port
// upstream: the name resolves through our stack's resolver (dnsmasq maps
// it to the kernel's address), and a client connection is proxied to a
// kernel TCP server there.
func TestProxyBinaryDHCPName(t *testing.T) {
	taptest.Require(t)
	dnsmasqtest.Require(t)
	bin := buildApp(t, "app/proxy")
	tp := dnsmasqtest.PersistentTAP(t)
	srv := dnsmasqtest.Start(t, tp, 0)
	ln, err := net.Listen("tcp4", net.JoinHostPort(tp.Kernel.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	a, addr := startApp(t, srv, bin, "-tap", tp.Name, "-dhcp", "-dhcp-timeout", "20s",
		"-listen", "8080", "-upstream", dnsmasqtest.UpstreamName+":"+port)
	checkLeased(t, tp, addr)
	// The proxy listens just after logging its lease: retry refusals.
	var c net.Conn
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err = net.DialTimeout("tcp4", net.JoinHostPort(addr, "8080"), 5*time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("through the proxy")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(c, buf, len("through the proxy"))
	if err != nil || string(buf[:n]) != "through the proxy" {
		t.Fatalf("proxied echo: %q, %v", buf[:n], err)
	}
	srv.WaitLog(t, 5*time.Second, "query[A] "+dnsmasqtest.UpstreamName+" from "+addr)
	c.Close()
	a.Interrupt()
	srv.WaitLog(t, 5*time.Second, "DHCPRELEASE("+tp.Name+") "+addr)
}
