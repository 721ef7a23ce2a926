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
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

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

	// With Options.IPv6: the kernel's link-local address and its global
	// one in Prefix6 (fd00:199:N::/64, with the EUI-64 interface
	// identifier of the TAP's kernel-side MAC, KernelMAC), both usable at
	// once (no DAD on the TAP).
	KernelLL, Kernel6 netip.Addr
	Prefix6           netip.Prefix
	KernelMAC         inet.MAC
}

// Options change what New sets up.
type Options struct {
	// IPv6 keeps IPv6 on for the TAP (New turns it off: no chatter in
	// captures) and gives the kernel side addresses: see TAP.Kernel6.
	IPv6 bool
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

// New creates a TAP for t and configures its kernel side (IPv4 only).
// The TAP is removed when the test ends.
func New(t testing.TB) *TAP { return NewWith(t, Options{}) }

// NewWith is New with options.
func NewWith(t testing.TB, o Options) *TAP {
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
	conf := "/proc/sys/net/ipv6/conf/" + name + "/"
	if !o.IPv6 {
		// No IPv6 chatter on the test link: it only adds noise to captures.
		os.WriteFile(conf+"disable_ipv6", []byte("1"), 0o644)
	} else {
		// Addresses usable at once, and the kernel's own RA and
		// autoconfiguration kept out of the way.
		for k, v := range map[string]string{"disable_ipv6": "0", "accept_dad": "0", "dad_transmits": "0", "accept_ra": "0", "autoconf": "0"} {
			if err := os.WriteFile(conf+k, []byte(v), 0o644); err != nil {
				t.Fatalf("taptest: %v", err)
			}
		}
	}
	Run(t, "ip", "addr", "add", fmt.Sprintf("10.199.%d.1/24", n), "dev", name)
	Run(t, "ip", "link", "set", name, "up")
	ours, _ := inet.ParsePrefix4(fmt.Sprintf("10.199.%d.15/24", n))
	tp := &TAP{
		Name: name, Dev: dev, N: n, Ours: ours,
		Kernel: netip.MustParseAddr(fmt.Sprintf("10.199.%d.1", n)),
	}
	if o.IPv6 {
		tp.setupIPv6(t)
	}
	return tp
}

// setupIPv6 gives the kernel side its IPv6 addresses.
func (tp *TAP) setupIPv6(t testing.TB) {
	t.Helper()
	ifc, err := net.InterfaceByName(tp.Name)
	if err != nil || len(ifc.HardwareAddr) != 6 {
		t.Fatalf("taptest: the TAP's kernel-side MAC: %v", err)
	}
	tp.KernelMAC = inet.MAC(ifc.HardwareAddr)
	m := tp.KernelMAC
	iid := [8]byte{m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]}
	var ll, g [16]byte
	ll[0], ll[1] = 0xfe, 0x80
	copy(ll[8:], iid[:])
	tp.Prefix6 = netip.MustParsePrefix(fmt.Sprintf("fd00:199:%x::/64", tp.N))
	g = tp.Prefix6.Addr().As16()
	copy(g[8:], iid[:])
	tp.KernelLL, tp.Kernel6 = netip.AddrFrom16(ll), netip.AddrFrom16(g)
	// The link-local address the kernel made when the link came up (in
	// tap.Open) may still be tentative, and its form depends on
	// addr_gen_mode: replace it with the EUI-64 one, usable at once.
	Run(t, "ip", "-6", "addr", "flush", "dev", tp.Name, "scope", "link")
	Run(t, "ip", "-6", "addr", "add", tp.KernelLL.String()+"/64", "dev", tp.Name, "nodad")
	Run(t, "ip", "-6", "addr", "add", tp.Kernel6.String()+"/64", "dev", tp.Name, "nodad")
	// The kernel sends from an address as soon as it is added, but
	// receives on it only once the address's local route is in (from a
	// work queue, even with nodad): packets to it meanwhile are dropped
	// as not ours (Ip6InAddrErrors). Wait for both routes.
	for _, a := range []netip.Addr{tp.KernelLL, tp.Kernel6} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			out, _ := exec.Command("ip", "-6", "route", "show", "table", "local", a.String(), "dev", tp.Name).Output()
			if strings.Contains(string(out), "local") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("taptest: the kernel's local route for %v never came", a)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// Neighbor6 tells the kernel that a is at mac on the TAP (a permanent
// neighbor entry), for stacks that do not answer Neighbor Solicitations.
func (tp *TAP) Neighbor6(t testing.TB, a netip.Addr, mac inet.MAC) {
	t.Helper()
	Run(t, "ip", "-6", "neigh", "replace", a.String(), "lladdr", mac.String(), "dev", tp.Name, "nud", "permanent")
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

// ConfigureKernel6 turns IPv6 on for the kernel side of the existing TAP
// name (after ConfigureKernel, which turns it off) and gives it the
// addresses NewWith's Options.IPv6 gives: an EUI-64 link-local one and
// one in fd00:199:N::/64, usable at once. It returns the TAP with the
// IPv6 fields set (Kernel6, KernelLL, Prefix6, KernelMAC).
func ConfigureKernel6(t testing.TB, name string, n int) *TAP {
	t.Helper()
	conf := "/proc/sys/net/ipv6/conf/" + name + "/"
	for _, kv := range [][2]string{{"accept_dad", "0"}, {"dad_transmits", "0"}, {"accept_ra", "0"}, {"autoconf", "0"}, {"disable_ipv6", "0"}} {
		if err := os.WriteFile(conf+kv[0], []byte(kv[1]), 0o644); err != nil {
			t.Fatalf("taptest: %v", err)
		}
	}
	tp := &TAP{Name: name, N: n}
	tp.setupIPv6(t)
	return tp
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
