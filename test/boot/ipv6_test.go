//go:build linux

package boot

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/mirago/mirago/internal/testkit/dnsmasqtest"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

// slaacLine matches the console line of an address formed from a router
// advertisement, capturing the address.
var slaacLine = regexp.MustCompile(`msg="ipv6 address" board=\S+ addr=([0-9a-f:]+)/64 kind=slaac status=preferred`)

// TestBootIPv6UserNet boots the echo image, IPv6 on by default, on each
// board with QEMU's user networking, which is IPv6 too unless told not
// to: the image forms its link-local address, solicits a router, and
// takes an address from the router advertisement of QEMU's slirp, whose
// prefix is fec0::/64 (QEMU 7.2's default ipv6-prefix), with an RFC 7217
// interface identifier; IPv4 echo still works through a forwarded port.
// QEMU 7.2's hostfwd cannot reach a guest over IPv6 (it refuses an IPv6
// host or guest address: "Bad host address", "Bad guest address"), so
// TCP echo over IPv6 is TestBootIPv6TAP's.
func TestBootIPv6UserNet(t *testing.T) {
	root := requireEnv(t)
	for _, board := range boards {
		t.Run(board, func(t *testing.T) {
			image := buildImage(t, root, imageConfig{app: "echo", board: board, port: echoPort})
			tcpPort := freePort(t, "tcp")
			g := boot(t, root, image, board, "-fwd", tcpPort+":"+echoPort)
			g.waitFor(t, `msg="ipv6 up" board=`+board+` ip6="" slaac=true`)
			g.waitFor(t, `kind=link-local status=preferred`)
			g.waitFor(t, `addr=fec0::`)
			m := slaacLine.FindStringSubmatch(g.text())
			if m == nil {
				t.Fatalf("no SLAAC address line")
			}
			a := netip.MustParseAddr(m[1])
			if !netip.MustParsePrefix("fec0::/64").Contains(a) || strings.HasSuffix(m[1], "5054:ff:fe12:3456") {
				t.Fatalf("SLAAC address %v: want fec0::/64 with a stable private (RFC 7217), not EUI-64, identifier", a)
			}
			waitTCPEcho(t, g, "127.0.0.1:"+tcpPort)
		})
	}
}

// TestBootIPv6TAP boots the echo image on each board on a TAP whose
// kernel side is the IPv6 router: dnsmasq advertises fd00:199:N::/64
// (RA only). The image takes a SLAAC address in it; the kernel pings it
// and pushes 1 MiB of TCP echo, 16 connections at once and UDP echo
// through it over IPv6, the kernel resolving it by Neighbor Discovery.
// Then an image with a static IP6 and SLAAC=0 answers at that address
// and forms none from the advertisements.
func TestBootIPv6TAP(t *testing.T) {
	root := requireEnv(t)
	dnsmasqtest.Require(t)
	for _, board := range boards {
		t.Run(board, func(t *testing.T) {
			tap, n := newTAP(t)
			tp := taptest.ConfigureKernel6(t, tap, n)
			tp.Kernel = netip.MustParseAddr(fmt.Sprintf("10.199.%d.1", n))
			dnsmasqtest.Start(t, tp, 0, "--enable-ra", fmt.Sprintf("--dhcp-range=%s,ra-only,64,10m", tp.Prefix6.Addr()))
			guestIP := fmt.Sprintf("10.199.%d.15", n)
			image := buildImage(t, root, imageConfig{app: "echo", board: board, port: echoPort,
				ip: guestIP + "/24", gw: fmt.Sprintf("10.199.%d.1", n)})
			g := boot(t, root, image, board, "-tap", tap)
			g.waitFor(t, `msg="echo serving"`)
			g.waitFor(t, `kind=slaac status=preferred`)
			m := slaacLine.FindStringSubmatch(g.text())
			if m == nil || !tp.Prefix6.Contains(netip.MustParseAddr(m[1])) {
				t.Fatalf("SLAAC address %q not in %v", m, tp.Prefix6)
			}
			echo6(t, g, netip.MustParseAddr(m[1]))
		})
	}
	t.Run("static", func(t *testing.T) {
		tap, n := newTAP(t)
		tp := taptest.ConfigureKernel6(t, tap, n)
		tp.Kernel = netip.MustParseAddr(fmt.Sprintf("10.199.%d.1", n))
		dnsmasqtest.Start(t, tp, 0, "--enable-ra", fmt.Sprintf("--dhcp-range=%s,ra-only,64,10m", tp.Prefix6.Addr()))
		static := fmt.Sprintf("fd00:199:%x::15", n)
		image := buildImage(t, root, imageConfig{app: "echo", board: "qemu-virt", port: echoPort,
			ip: fmt.Sprintf("10.199.%d.15/24", n), gw: fmt.Sprintf("10.199.%d.1", n), ip6: static + "/64", slaac: "0"})
		g := boot(t, root, image, "qemu-virt", "-tap", tap)
		g.waitFor(t, `msg="ipv6 up" board=qemu-virt ip6=`+static+`/64 slaac=false`)
		g.waitFor(t, `addr=`+static+`/64 kind=static status=preferred`)
		echo6(t, g, netip.MustParseAddr(static))
		if strings.Contains(g.text(), "kind=slaac") {
			t.Fatalf("an address formed from the advertisements with SLAAC=0")
		}
	})
}

// echo6 pings a over IPv6 and pushes TCP and UDP echo through it.
func echo6(t *testing.T, g *guest, a netip.Addr) {
	t.Helper()
	out, err := exec.Command("ping", "-6", "-n", "-c", "5", "-i", "0.2", "-w", "15", a.String()).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(" 0% packet loss")) {
		t.Fatalf("ping -6 %v: %v\n%s", a, err, out)
	}
	addr := net.JoinHostPort(a.String(), echoPort)
	waitTCPEcho(t, g, addr)
	bulkEcho(t, addr, bulkSize, nil)
	parallelEcho(t, addr, 16, 128<<10, false)
	udpEcho(t, addr, []int{1, 1452, 4000})
}

// TestBootNoIPv6 boots an echo image built with IPV6=0 on each board: it
// serves IPv4 as ever and logs nothing of IPv6 (TestImageDeps checks
// that no IPv6 package is linked).
func TestBootNoIPv6(t *testing.T) {
	root := requireEnv(t)
	for _, board := range boards {
		t.Run(board, func(t *testing.T) {
			image := buildImage(t, root, imageConfig{app: "echo", board: board, port: echoPort, ipv6: "0"})
			tcpPort := freePort(t, "tcp")
			g := boot(t, root, image, board, "-fwd", tcpPort+":"+echoPort)
			g.waitFor(t, `msg="echo serving"`)
			addr := "127.0.0.1:" + tcpPort
			waitTCPEcho(t, g, addr)
			bulkEcho(t, addr, bulkSize, nil)
			if strings.Contains(g.text(), "ipv6") {
				t.Fatalf("an IPV6=0 image speaks of IPv6:\n%s", g.text())
			}
		})
	}
}
