//go:build linux

// Package taptest gives tests a Linux TAP device with the kernel as the
// peer: it creates the TAP through drivers/tap, puts the kernel side on a
// private /24 of its own (10.199.N.1) and hands our side 10.199.N.15. It
// skips the test (under CI=true: fails it), naming what is missing, unless
// it runs as root with /dev/net/tun and iproute2.
//
// Subnets are allocated with lock files so that test binaries running in
// parallel never share a subnet (which would confuse the kernel's routes).
package taptest

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mirago/mirago/drivers/tap"
	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/stack/inet"
)

// TAP is one test TAP device.
type TAP struct {
	Name   string
	Dev    *tap.Device
	Kernel netip.Addr   // the kernel's address on the TAP (10.199.N.1)
	Ours   inet.Prefix4 // the address our stack should take (10.199.N.15/24)
	N      int
}

// debianPackage names the Debian package of the tools TAP tests use, for
// the message when one is missing.
var debianPackage = map[string]string{
	"ip": "iproute2", "ping": "iputils-ping", "curl": "curl", "tshark": "tshark",
	"haproxy": "haproxy", "nginx": "nginx-light", "openssl": "openssl",
}

// Require ends t unless TAP tests can run here: /dev/net/tun, root and
// iproute2's ip, plus each of tools. What is missing is named: a skip, or
// under CI=true a failure (internal/testkit/require).
func Require(t testing.TB, tools ...string) {
	t.Helper()
	require.TUN(t)
	require.Root(t)
	for _, tool := range append([]string{"ip"}, tools...) {
		require.Commands(t, debianPackage[tool], tool)
	}
}

// allocate reserves a test subnet number for t (Reserve),
// released when the test ends.
func allocate(t testing.TB) int {
	t.Helper()
	n, release, err := Reserve()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return n
}

// New creates a TAP for t and configures its kernel side. The TAP is
// removed when the test ends.
func New(t testing.TB) *TAP {
	t.Helper()
	Require(t)
	n := allocate(t)
	name := fmt.Sprintf("mrg%d_%d", n, os.Getpid()%10000)
	dev, err := tap.Open(name, tap.Options{MTU: 1500, SetMTU: true, BringUp: true})
	if err != nil {
		t.Fatalf("taptest: %v", err)
	}
	t.Cleanup(func() {
		dev.Close()
		exec.Command("ip", "link", "del", name).Run()
	})
	// No IPv6 chatter on the test link: it only adds noise to captures.
	os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", []byte("1"), 0o644)
	Run(t, "ip", "addr", "add", fmt.Sprintf("10.199.%d.1/24", n), "dev", name)
	Run(t, "ip", "link", "set", name, "up")
	ours, _ := inet.ParsePrefix4(fmt.Sprintf("10.199.%d.15/24", n))
	return &TAP{
		Name: name, Dev: dev, N: n, Ours: ours,
		Kernel: netip.MustParseAddr(fmt.Sprintf("10.199.%d.1", n)),
	}
}

// OursAddr is our address as a netip.Addr.
func (tp *TAP) OursAddr() netip.Addr { return tp.Ours.Addr.Netip() }

// Run runs a command and fails t with its output if it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// AllocateSubnet reserves a test subnet number N for t, as New does, but
// creates nothing: the caller sets up 10.199.N.0/24 itself (for instance
// on a TAP that QEMU opens, which New's open device would keep busy). The
// reservation is released when the test ends.
func AllocateSubnet(t testing.TB) int {
	t.Helper()
	return allocate(t)
}

// Subnet reserves a free test subnet 10.199.N.0/24 for t (released when
// the test ends) without creating a TAP, for tests whose program under
// test creates the TAP itself. It returns N and a TAP name for it; the
// kernel side is configured with ConfigureKernel once the TAP exists.
func Subnet(t testing.TB) (n int, name string) {
	t.Helper()
	Require(t)
	n = allocate(t)
	name = fmt.Sprintf("mrb%d_%d", n, os.Getpid()%10000)
	t.Cleanup(func() { exec.Command("ip", "link", "del", name).Run() })
	return n, name
}

// ConfigureKernel gives the kernel side of the existing TAP name the
// address 10.199.N.1/24 and brings it up. It returns the kernel address
// and the address our side should take (10.199.N.15/24).
func ConfigureKernel(t testing.TB, name string, n int) (kernel netip.Addr, ours inet.Prefix4) {
	t.Helper()
	os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", []byte("1"), 0o644)
	Run(t, "ip", "addr", "add", fmt.Sprintf("10.199.%d.1/24", n), "dev", name)
	Run(t, "ip", "link", "set", name, "up")
	ours, _ = inet.ParsePrefix4(fmt.Sprintf("10.199.%d.15/24", n))
	return netip.MustParseAddr(fmt.Sprintf("10.199.%d.1", n)), ours
}
