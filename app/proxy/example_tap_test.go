//go:build linux

package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/flow/mimic/tlshello"
	"github.com/mirago/mirago/flow/proxyproto"
	"github.com/mirago/mirago/internal/metrics/metricstest"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

// exampleOnTAP returns proxy.example.toml with its addresses moved onto
// tp: 10.0.2.2 (the upstreams' host and the balancer in front) becomes
// the kernel's address, 10.0.2.0/24 the TAP's subnet.
func exampleOnTAP(t *testing.T, tp *taptest.TAP) string {
	b, err := os.ReadFile("proxy.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "10.0.2.0/24", fmt.Sprintf("10.199.%d.0/24", tp.N))
	s = strings.ReplaceAll(s, "10.0.2.2", tp.Kernel.String())
	return strings.ReplaceAll(s, "10.0.2.1", tp.Kernel.String())
}

// apiServer is an upstream of the example's pool "api", which sends PROXY
// v2: it reads the header, then the first bytes of the stream, and
// answers with its name, the client the header names, and the server
// name if the bytes are a ClientHello.
func apiServer(t *testing.T, addr, name string) {
	ln, err := net.Listen("tcp4", addr)
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
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				h, rest, err := proxyproto.Read(c, 0)
				if err != nil {
					return // a health check: no header
				}
				reply := fmt.Sprintf("%s v%d src=%s", name, h.Version, h.Source)
				br := io.MultiReader(strings.NewReader(string(rest)), c)
				if hello, _, err := tlshello.Read(readerFunc(br.Read), 0); err == nil {
					reply += " sni=" + hello.ServerName
				}
				fmt.Fprintln(c, reply)
			}()
		}
	}()
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

// clientHello returns the ClientHello crypto/tls sends for name.
func clientHello(t *testing.T, name string) []byte {
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		tc := tls.Client(c, &tls.Config{ServerName: name})
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		tc.Handshake()
		c.Close()
	}()
	s.SetDeadline(time.Now().Add(5 * time.Second))
	_, b, err := tlshello.Read(s, 0)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lineAfter connects to addr, writes first, and returns the first line
// the far end answers.
func lineAfter(t *testing.T, addr netip.AddrPort, first []byte) string {
	t.Helper()
	c, err := net.DialTimeout("tcp4", addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(first)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", addr, err)
	}
	return strings.TrimSpace(line)
}

// The example configuration, loaded from proxy.example.toml and run over
// a TAP with kernel upstreams at its addresses: weighted round robin on
// "web", SNI routing on "tls" (api.example.org to "api", which gets PROXY
// v2 headers; *.static.example.org and the rest to "web"), PROXY headers
// taken on "behind-lb" and passed on, health checks, and the metrics
// endpoint.
func TestExampleConfig(t *testing.T) {
	tp := taptest.New(t)
	k := tp.Kernel.String()
	var web []*nameServer
	for _, port := range []string{"8001", "8002"} {
		ns := &nameServer{t: t, name: "web" + port, addr: k + ":" + port, conns: map[net.Conn]bool{}}
		ns.start()
		t.Cleanup(ns.stop)
		web = append(web, ns)
	}
	apiServer(t, k+":9001", "api9001")
	apiServer(t, k+":9002", "api9002")
	r := startTOML(t, tp, exampleOnTAP(t, tp))
	ours := tp.OursAddr()

	// web: weights 1 and 2.
	if got := tally(t, netip.AddrPortFrom(ours, 8080), netip.Addr{}, 30); got["web8001"] != 10 || got["web8002"] != 20 {
		t.Fatalf("listener web: %v, want 10 and 20", got)
	}
	// tls: routed by the ClientHello, which reaches the upstream intact.
	line := lineAfter(t, netip.AddrPortFrom(ours, 8443), clientHello(t, "api.example.org"))
	if !strings.HasPrefix(line, "api") || !strings.Contains(line, " v2 src="+k+":") || !strings.HasSuffix(line, "sni=api.example.org") {
		t.Fatalf("listener tls, api.example.org: %q", line)
	}
	for _, name := range []string{"img.static.example.org", "other.example.com"} {
		if line := lineAfter(t, netip.AddrPortFrom(ours, 8443), clientHello(t, name)); !strings.HasPrefix(line, "web") {
			t.Fatalf("listener tls, %s: %q, want a web upstream", name, line)
		}
	}
	// behind-lb: we are the balancer in front.
	hdr := fmt.Sprintf("PROXY TCP4 192.0.2.9 %s 5555 8081\r\nhi\n", ours)
	if line := lineAfter(t, netip.AddrPortFrom(ours, 8081), []byte(hdr)); !strings.Contains(line, "src=192.0.2.9:5555") {
		t.Fatalf("listener behind-lb: %q", line)
	}
	m := metricstest.Scrape(t, netip.AddrPortFrom(ours, 9100))
	if m[`mirago_proxy_pool_healthy{pool="web"}`] != 2 || m[`mirago_proxy_pool_healthy{pool="api"}`] != 2 ||
		m[`mirago_proxy_listener_connections{listener="web",family="ipv4"}`] != 30 {
		t.Fatalf("metrics: web healthy %v, api healthy %v, web connections %v", m[`mirago_proxy_pool_healthy{pool="web"}`],
			m[`mirago_proxy_pool_healthy{pool="api"}`], m[`mirago_proxy_listener_connections{listener="web",family="ipv4"}`])
	}
	_ = r
}

// The binary with -config: SIGHUP rereads the file (a listener added
// serves), a bad file is refused with each fault logged and the old
// configuration keeps serving, and SIGTERM exits 0.
func TestBinaryReload(t *testing.T) {
	taptest.Require(t)
	bin := buildBinary(t)
	n, name := taptest.Subnet(t)
	kernel := netip.AddrFrom4([4]byte{10, 199, byte(n), 1})
	ours := netip.AddrFrom4([4]byte{10, 199, byte(n), 15})
	// The upstream listens on every address, so it is up before the
	// kernel side of the TAP has its address.
	ln, err := net.Listen("tcp4", ":0")
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
			go func() { defer c.Close(); c.Write([]byte("hello\n")); io.Copy(c, c) }()
		}
	}()
	up := netip.AddrPortFrom(kernel, uint16(ln.Addr().(*net.TCPAddr).Port))
	path := filepath.Join(t.TempDir(), "proxy.toml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := fmt.Sprintf("[listener.a]\nport = 8080\npool = \"p\"\n[pool.p]\nupstreams = [%q]\n", up)
	write(base)
	cmd := exec.Command(bin, "-tap", name, "-ip", ours.String()+"/24", "-gw", "", "-config", path)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logged strings.Builder
	logs := func() string { mu.Lock(); defer mu.Unlock(); return logged.String() }
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logged.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
		exited <- cmd.Wait()
	}()
	done := false
	defer func() {
		if !done {
			cmd.Process.Kill()
			<-exited
			t.Logf("proxy log:\n%s", logs())
		}
	}()
	stacktest.WaitFor(t, "the proxy to create "+name, 10*time.Second, func() bool {
		_, err := os.Stat("/sys/class/net/" + name)
		return err == nil
	})
	taptest.ConfigureKernel(t, name, n)
	serves := func(port uint16) bool {
		name, c, err := greet(netip.AddrPortFrom(ours, port), netip.Addr{})
		if err == nil {
			c.Close()
		}
		return err == nil && name == "hello"
	}
	stacktest.WaitFor(t, "listener a", 15*time.Second, func() bool { return serves(8080) })

	write(base + "[listener.b]\nport = 8082\npool = \"p\"\n")
	cmd.Process.Signal(syscall.SIGHUP)
	stacktest.WaitFor(t, "the reload", 10*time.Second, func() bool { return strings.Contains(logs(), `msg="proxy reloaded"`) })
	if !serves(8082) || !serves(8080) {
		t.Fatal("after the reload: listeners a and b do not both serve")
	}

	write(base + "[listener.b]\nport = 8082\npool = \"nope\"\nspeed = 9\n")
	cmd.Process.Signal(syscall.SIGHUP)
	stacktest.WaitFor(t, "the refusal", 10*time.Second, func() bool { return strings.Contains(logs(), `msg="proxy configuration kept"`) })
	out := logs()
	for _, want := range []string{`msg="proxy reload refused" err="` + path + `:8: no pool called \"nope\""`,
		`msg="proxy reload refused" err="` + path + `:9: unknown setting \"speed\"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if !serves(8082) || !serves(8080) {
		t.Fatal("after the refused reload: the old configuration does not serve")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		done = true
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}
