//go:build linux

package netns

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mirago/mirago/internal/testkit/require"
)

func TestSNMPField(t *testing.T) {
	snmp := []byte("Ip: Forwarding DefaultTTL\nIp: 2 64\n" +
		"Tcp: RtoAlgorithm RtoMin ActiveOpens RetransSegs InErrs\nTcp: 1 200 7 42 0\n")
	if v, err := snmpField(snmp, "Tcp", "RetransSegs"); err != nil || v != 42 {
		t.Errorf("RetransSegs = %d, %v", v, err)
	}
	if _, err := snmpField(snmp, "Tcp", "Nope"); err == nil {
		t.Error("a missing field read as found")
	}
	if _, err := snmpField([]byte("Tcp: A\n"), "Tcp", "A"); err == nil {
		t.Error("a header without values read as found")
	}
}

func TestDevDrops(t *testing.T) {
	dev := []byte(`Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
 mkv1a: 1000      10    0    3    0     0          0         0     2000      20    0    4    0     0       0          0
`)
	if v, err := devDrops(dev, "mkv1a"); err != nil || v != 7 {
		t.Errorf("drops = %d, %v; want 7", v, err)
	}
	if _, err := devDrops(dev, "mkv9a"); err == nil {
		t.Error("a missing interface read as found")
	}
}

// netnsIno is the inode of the network namespace at path.
func netnsIno(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestPair builds a pair, moves bytes both ways between its namespaces,
// checks that sockets live in their namespaces and threads come back to
// ours, reads the counters, captures the handshake, and checks that Close
// removes the namespaces.
func TestPair(t *testing.T) {
	require.Root(t)
	require.Commands(t, "iproute2", "ip")
	own := netnsIno(t, "/proc/self/ns/net")
	p, err := NewPair()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{p.A.Name, p.B.Name}
	defer p.Close()

	var inB uint64
	if err := p.B.Do(func() error {
		inB = netnsIno(t, "/proc/thread-self/ns/net")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if inB == own || inB != netnsIno(t, "/run/netns/"+p.B.Name) {
		t.Errorf("Do ran in namespace %d; own %d", inB, own)
	}

	synSeen := make(chan struct{}, 1)
	stop, err := p.Capture(func(f []byte) {
		// Ethernet, IPv4 (20-byte header), TCP flags at offset 13: SYN alone.
		if len(f) >= 14+20+14 && f[12] == 8 && f[13] == 0 && f[14+9] == 6 && f[14+20+13] == 0x02 {
			select {
			case synSeen <- struct{}{}:
			default:
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := p.Listen(7000)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		b   []byte
		err error
	}
	got := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- res{nil, err}
			return
		}
		defer c.Close()
		b, err := io.ReadAll(c)
		got <- res{b, err}
	}()
	c, err := p.Dial(context.Background(), 7000)
	if err != nil {
		t.Fatal(err)
	}
	if ra := c.RemoteAddr().String(); ra != AddrB.Addr().String()+":7000" {
		t.Errorf("remote address %s", ra)
	}
	if _, err := c.Write([]byte("hello across namespaces")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	r := <-got
	if r.err != nil || string(r.b) != "hello across namespaces" {
		t.Fatalf("server read %q, %v", r.b, r.err)
	}
	<-synSeen
	stop()
	if now := netnsIno(t, "/proc/thread-self/ns/net"); now != own {
		t.Errorf("this thread is in namespace %d, not ours (%d)", now, own)
	}
	for _, ns := range []*Namespace{p.A, p.B} {
		if _, err := ns.Counters(); err != nil {
			t.Errorf("%s: counters: %v", ns.Name, err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := os.Stat("/run/netns/" + n); !os.IsNotExist(err) {
			t.Errorf("namespace %s still exists after Close (%v)", n, err)
		}
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, n := range names {
		if strings.Contains(string(out), n) {
			t.Errorf("ip netns list still shows %s", n)
		}
	}
}

func TestBacklogDrops(t *testing.T) {
	if _, err := BacklogDrops(); err != nil {
		t.Fatal(err)
	}
}

func TestSocketMemoryAndLimits(t *testing.T) {
	require.Root(t)
	if _, err := KernelSocketMemory(); err != nil {
		t.Fatal(err)
	}
	lim := FileLimit()
	if lim == 0 {
		t.Fatal("no open-file limit")
	}
	restore, err := RaiseFileLimit(lim) // already there: nothing to do
	if err != nil {
		t.Fatal(err)
	}
	restore()
	if FileLimit() != lim {
		t.Errorf("limit %d after a no-op raise, was %d", FileLimit(), lim)
	}
}

// TestRaiseTCPMem raises the pressure threshold by one page and checks
// that restore puts the old values back.
func TestRaiseTCPMem(t *testing.T) {
	require.Root(t)
	read := func() string {
		b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_mem")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(string(b)), " ")
	}
	old := read()
	var lo, mid, hi uint64
	if _, err := fmt.Sscan(old, &lo, &mid, &hi); err != nil {
		t.Fatal(err)
	}
	page := uint64(os.Getpagesize())
	restore, err := RaiseTCPMem((mid+1)*page, hi*page)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := read(), fmt.Sprintf("%d %d %d", lo, mid+1, max(hi, mid+1)); got != want {
		t.Errorf("tcp_mem %q after raising, want %q", got, want)
	}
	restore()
	if got := read(); got != old {
		t.Errorf("tcp_mem %q after restore, was %q", got, old)
	}
}
