//go:build linux

// Package chronytest runs Debian's chronyd as an NTP server on a test
// TAP's kernel address (internal/testkit/taptest), so that tests can check
// our SNTP client (stack/sntp) against a real server. chronyd runs in the
// foreground with a private configuration: `local stratum 8` (it serves
// the kernel's clock without any upstream), port 123 bound only to the
// given address, no command port, its pid file in the test's directory,
// and -x, so it never touches the system clock. It skips the test (under
// CI=true fails it) when chronyd is missing (Debian: apt-get install
// chrony) or the test is not root.
package chronytest

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/internal/testkit/require"
)

// Server is a running chronyd.
type Server struct {
	Addr   netip.AddrPort // where it serves: the kernel address, port 123
	cmd    *exec.Cmd
	log    flow.Sink
	exited chan struct{}
}

// Require ends t unless chronyd is installed and t runs as root (a skip,
// or under CI=true a failure), and returns chronyd's path.
func Require(t testing.TB) string {
	t.Helper()
	require.Root(t)
	for _, p := range []string{"chronyd", "/usr/sbin/chronyd", "/sbin/chronyd"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	require.Missing(t, "chronyd (Debian package chrony) as the NTP server")
	return ""
}

// Start runs chronyd serving NTP on addr:123 (an address of the kernel's
// on a test TAP), waits until it answers a request there, and stops it
// when the test ends.
func Start(t testing.TB, addr netip.Addr) *Server {
	t.Helper()
	bin := Require(t)
	dir := t.TempDir()
	conf := strings.Join([]string{
		"local stratum 8",
		"allow all",
		"port 123",
		"bindaddress " + addr.String(),
		"cmdport 0",
		"pidfile " + filepath.Join(dir, "chronyd.pid"),
		"",
	}, "\n")
	cf := filepath.Join(dir, "chrony.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: netip.AddrPortFrom(addr, 123), exited: make(chan struct{})}
	// -d: foreground, logging to stderr; -x: never adjust the system
	// clock; -u root: keep the privileges the test runs with.
	s.cmd = exec.Command(bin, "-d", "-x", "-u", "root", "-f", cf)
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting chronyd: %v", err)
	}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("chronyd log:\n%s", s.Log())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !s.answers() {
		select {
		case <-s.exited:
			t.Fatalf("chronyd exited:\n%s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("chronyd does not answer on %v:\n%s", s.Addr, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// answers sends one NTP request from the host and reports whether a
// server-mode reply came back.
func (s *Server) answers() bool {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(s.Addr))
	if err != nil {
		return false
	}
	defer c.Close()
	req := make([]byte, 48)
	req[0] = 4<<3 | 3
	binary.BigEndian.PutUint64(req[40:], 0x0123456789abcdef)
	if _, err := c.Write(req); err != nil {
		return false
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	return err == nil && n >= 48 && buf[0]&7 == 4 && binary.BigEndian.Uint64(buf[24:]) == 0x0123456789abcdef
}

// Log returns what chronyd has logged so far.
func (s *Server) Log() string { return s.log.String() }
