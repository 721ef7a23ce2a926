//go:build linux

package main

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/metrics/metricstest"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

// TestBinary builds the proxy and runs it as a user would: it creates its
// TAP, proxies a download from a kernel HTTP server, serves metrics, and
// on SIGTERM exits 0 after logging the connection and the shutdown.
func TestBinary(t *testing.T) {
	taptest.Require(t)
	bin := buildBinary(t)
	n, name := taptest.Subnet(t)
	kernel := netip.AddrFrom4([4]byte{10, 199, byte(n), 1})
	ours := netip.AddrFrom4([4]byte{10, 199, byte(n), 15})

	// The upstream listens on every address, so it is up before the
	// kernel side of the TAP has its address; only the TAP reaches it.
	const size = 4 << 20
	ln, err := net.Listen("tcp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		io.Copy(w, stacktest.Stream(11, size))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	upstream := netip.AddrPortFrom(kernel, uint16(ln.Addr().(*net.TCPAddr).Port))

	cmd := exec.Command(bin, "-tap", name, "-ip", ours.String()+"/24", "-gw", "", "-log", "debug",
		"-listen", "8080", "-upstream", upstream.String(), "-metrics", "9100", "-grace", "2s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		logged strings.Builder
	)
	logs := func() string { mu.Lock(); defer mu.Unlock(); return logged.String() }
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logged.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
		io.Copy(io.Discard, stderr)
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
	client := &http.Client{Timeout: 2 * time.Second}
	metricsURL := fmt.Sprintf("http://%s:9100/metrics", ours)
	stacktest.WaitFor(t, "the metrics endpoint to answer", 15*time.Second, func() bool {
		resp, err := client.Get(metricsURL)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	client.Timeout = 60 * time.Second
	resp, err := client.Get(fmt.Sprintf("http://%s:8080/blob", ours))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	got, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	want := sha256.New()
	io.Copy(want, stacktest.Stream(11, size))
	if err != nil || got != size || string(h.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatalf("download through the proxy: %d bytes, %v, sha256 match %v", got, err, string(h.Sum(nil)) == string(want.Sum(nil)))
	}
	client.CloseIdleConnections() // the proxied connection closes: logged

	m := metricstest.Scrape(t, netip.AddrPortFrom(ours, 9100))
	if m[`mirago_proxy_listener_connections{listener="main",family="ipv4"}`] < 1 || m[`mirago_ip_received{family="ipv4"}`] <= 0 {
		t.Errorf("metrics: accepted %v, ip_received %v", m[`mirago_proxy_listener_connections{listener="main",family="ipv4"}`], m[`mirago_ip_received{family="ipv4"}`])
	}
	stacktest.WaitFor(t, "the connection log line", 10*time.Second, func() bool { return strings.Contains(logs(), "proxy conn closed") })

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		done = true
		if err != nil {
			t.Fatalf("proxy exited with %v after SIGTERM; log:\n%s", err, logs())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("proxy did not exit within 15s of SIGTERM")
	}
	out := logs()
	for _, want := range []string{`msg="stack up"`, `msg="proxy serving"`, `msg="metrics serving"`,
		`msg="proxy conn closed" client=` + kernel.String(), "outcome=ok", `msg="proxy stopped accepting"`, `msg="shutting down"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
