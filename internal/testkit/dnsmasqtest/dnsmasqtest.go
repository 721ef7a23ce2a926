//go:build linux

// Package dnsmasqtest runs Debian's dnsmasq as the DHCP and DNS server on a
// test TAP (internal/testkit/taptest), so tests can check our DHCP client and DNS
// resolver against a real server. It skips the test, naming dnsmasq, when
// the binary is missing (Debian: apt-get install dnsmasq-base).
package dnsmasqtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

// BigName resolves to BigCount addresses (10.77.0.1 up): its answer does
// not fit in 512 bytes, so a UDP query gets a truncated answer and the
// resolver must retry over TCP.
const (
	BigName  = "big.test"
	BigCount = 40
)

// UpstreamName resolves to the kernel's address on the TAP: an A record,
// and an AAAA record too on a TAP with IPv6 (taptest.Options.IPv6).
const UpstreamName = "upstream.test"

// Upstream4Name resolves to the kernel's IPv4 address only (no AAAA).
const Upstream4Name = "upstream4.test"

// Server is a running dnsmasq.
type Server struct {
	TAP       *taptest.TAP
	LeaseFile string
	cmd       *exec.Cmd
	log       flow.Sink
	exited    chan struct{}
	err       error
}

// Require ends t unless dnsmasq is installed (a skip, or under CI=true a
// failure) and returns its path.
func Require(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"dnsmasq", "/usr/sbin/dnsmasq", "/sbin/dnsmasq"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	require.Missing(t, "dnsmasq (Debian package dnsmasq-base) as the DHCP/DNS server")
	return ""
}

// Start runs dnsmasq on tp: DHCP for 10.199.N.50-150/24 with 2-minute
// leases (the minimum), router and DNS server 10.199.N.1, renewal time
// T1 (0: dnsmasq's default, half the lease); DNS on 10.199.N.1:53 with
// UpstreamName and BigName and nothing else. On a TAP with IPv6
// (taptest.Options.IPv6) DNS listens on the kernel's IPv6 address too
// (tp.Kernel6) and UpstreamName has an AAAA record of it. It waits until
// dnsmasq is ready and kills it when the test ends.
func Start(t testing.TB, tp *taptest.TAP, t1 time.Duration, extra ...string) *Server {
	t.Helper()
	bin := Require(t)
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	var hb strings.Builder
	for i := 1; i <= BigCount; i++ {
		fmt.Fprintf(&hb, "10.77.0.%d %s\n", i, BigName)
	}
	if err := os.WriteFile(hosts, []byte(hb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	k := tp.Kernel.String()
	net := fmt.Sprintf("10.199.%d.", tp.N)
	s := &Server{TAP: tp, LeaseFile: filepath.Join(dir, "leases"), exited: make(chan struct{})}
	args := []string{
		"--no-daemon", "--conf-file=/dev/null", "--log-facility=-", "--log-dhcp", "--log-queries",
		"--user=root", "--group=root",
		"--interface=" + tp.Name, "--bind-interfaces", "--except-interface=lo",
		"--listen-address=" + k, "--port=53",
		"--dhcp-range=" + net + "50," + net + "150,255.255.255.0,2m",
		"--dhcp-option=3," + k, "--dhcp-option=6," + k,
		"--dhcp-leasefile=" + s.LeaseFile, "--pid-file=" + filepath.Join(dir, "pid"),
		"--no-resolv", "--no-hosts", "--addn-hosts=" + hosts,
		"--address=/" + UpstreamName + "/" + k,
		"--address=/" + Upstream4Name + "/" + k,
	}
	if tp.Kernel6.IsValid() {
		args = append(args, "--listen-address="+tp.Kernel6.String(), "--address=/"+UpstreamName+"/"+tp.Kernel6.String())
	}
	if t1 > 0 {
		args = append(args, fmt.Sprintf("--dhcp-option=option:T1,%d", int(t1/time.Second)))
	}
	args = append(args, extra...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout = &s.log
	s.cmd.Stderr = &s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting dnsmasq: %v", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("dnsmasq log:\n%s", s.Log())
		}
	})
	s.WaitLog(t, 10*time.Second, "DHCP, IP range")
	return s
}

// Log returns what dnsmasq has logged so far.
func (s *Server) Log() string { return s.log.String() }

// WaitLog waits until dnsmasq's log contains every one of subs, failing t
// after timeout or if dnsmasq exits.
func (s *Server) WaitLog(t testing.TB, timeout time.Duration, subs ...string) {
	t.Helper()
	s.WaitFor(t, timeout, fmt.Sprintf("dnsmasq to log %q", subs), func() bool {
		l := s.Log()
		for _, sub := range subs {
			if !strings.Contains(l, sub) {
				return false
			}
		}
		return true
	})
}

// WaitFor polls cond until it holds, failing t after timeout (naming what)
// or if dnsmasq exits.
func (s *Server) WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-s.exited:
			t.Fatalf("dnsmasq exited (%v) while waiting for %s:\n%s", s.err, what, s.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Leases returns the lease file's contents ("expiry mac ip host id"
// lines).
func (s *Server) Leases() string {
	b, _ := os.ReadFile(s.LeaseFile)
	return string(b)
}

// Count returns how many times sub occurs in the log.
func (s *Server) Count(sub string) int { return strings.Count(s.Log(), sub) }

// PersistentTAP is taptest.New for a process other than the test: it
// allocates a test subnet and name like taptest.New, then replaces the
// TAP the test holds open with a persistent one (ip tuntap add) that has
// the same name and kernel address, so that a program under test (or
// drivers/tap.Open by name) can attach to it. tp.Dev is closed and must
// not be used. The interface is removed when the test ends.
func PersistentTAP(t testing.TB) *taptest.TAP {
	t.Helper()
	tp := taptest.New(t)
	tp.Dev.Close() // the interface Open created goes away
	taptest.Run(t, "ip", "tuntap", "add", "dev", tp.Name, "mode", "tap")
	os.WriteFile("/proc/sys/net/ipv6/conf/"+tp.Name+"/disable_ipv6", []byte("1"), 0o644)
	taptest.Run(t, "ip", "addr", "add", tp.Kernel.String()+"/24", "dev", tp.Name)
	taptest.Run(t, "ip", "link", "set", tp.Name, "up")
	return tp
}
