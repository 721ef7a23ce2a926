package bench

import (
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/require"
)

// forceImageSkip makes the image workload skip with why until the
// returned function restores the real probe.
func forceImageSkip(why string) (restore func()) {
	saved := imageProbe
	imageProbe = func() (ImageEnv, string) { return ImageEnv{}, why }
	return func() { imageProbe = saved }
}

// TestImageSkipped: without the toolchain or QEMU the image workload
// reports every row as skipped, with the reason, and no error.
func TestImageSkipped(t *testing.T) {
	defer forceImageSkip("qemu-system-arm not found")()
	ms, err := Run(Options{Sizes: Tiny(), Only: []string{"image"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(imageMetrics()) {
		t.Fatalf("%d rows, want %d", len(ms), len(imageMetrics()))
	}
	for _, m := range ms {
		if len(m.Rows) != 0 || m.Note != "skipped: qemu-system-arm not found" {
			t.Errorf("%s: rows %v, note %q", m.Bench, m.Rows, m.Note)
		}
	}
	for _, l := range Lines(ms) {
		if l.Value != nil || !strings.HasPrefix(l.Note, "skipped: ") {
			t.Errorf("JSON line %+v: want a null value and the skip note", l)
		}
	}
}

// TestSizeOf reads the sizes of this test binary, an ELF on Linux.
func TestSizeOf(t *testing.T) {
	if runtime.GOOS != "linux" {
		// skip-ok: a platform without ELF binaries, not a missing requirement.
		t.Skip("the test binary is not an ELF here")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s, err := SizeOf(exe)
	if err != nil {
		t.Fatal(err)
	}
	if s.File <= 0 || s.Loaded <= 0 || s.Loaded > s.File {
		t.Fatalf("implausible sizes %+v", s)
	}
	if _, err := SizeOf("image_test.go"); err == nil {
		t.Error("SizeOf accepted a file that is not an ELF")
	}
}

// TestEchoThroughput drives EchoThroughput against a host echo server.
func TestEchoThroughput(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	corrupt := make(chan bool, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				bad := false
				select {
				case bad = <-corrupt:
				default:
				}
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if bad && n > 0 {
						buf[0]++
						bad = false
					}
					if n > 0 {
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err == io.EOF {
						c.(*net.TCPConn).CloseWrite()
						return
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	r, err := EchoThroughput(ln.Addr().String(), 1<<20, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Bytes != 1<<20 || r.Mbps() <= 0 || math.IsInf(r.Mbps(), 0) {
		t.Fatalf("implausible result %+v", r)
	}
	corrupt <- true
	if _, err := EchoThroughput(ln.Addr().String(), 64<<10, 10*time.Second); err == nil {
		t.Fatal("a corrupted echo was accepted")
	}
}

// TestImage runs the image workload for real at a tiny size: both images
// are built and booted under QEMU. It skips, saying why (under
// CI=true: fails), without the TamaGo toolchain, qemu-system-arm or make,
// and it skips in -short mode.
func TestImage(t *testing.T) {
	// -short is for quick runs by hand; CI and make test never set it.
	if testing.Short() {
		t.Skip("skipping: builds and boots images (not in -short mode)")
	}
	require.Toolchain(t)
	require.Commands(t, "qemu-system-arm", "qemu-system-arm")
	require.Commands(t, "make", "make")
	if _, why := imageProbe(); why != "" {
		t.Fatalf("image workload: %s", why)
	}
	ms, err := Run(Options{Sizes: Tiny(), Only: []string{"image"}, Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		for _, st := range []string{Mirago, GVisor} {
			if v, ok := m.Value(st); !ok || v <= 0 {
				t.Errorf("%s: no %s value (%v)", m.Bench, st, v)
			}
		}
		mi, _ := m.Value(Mirago)
		gv, _ := m.Value(GVisor)
		t.Logf("%s: mirago %.0f gvisor %.0f ratio %.2f %s", m.Bench, mi, gv, m.Ratio(GVisor), m.Unit)
	}
}

// testLog writes progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestImageDeps guards the image size: bare-metal programs must not link
// the standard library's heavy packages, which cost more than our whole
// stack (log/slog and encoding/json about 0.4 MB; net/http with
// crypto/tls and crypto/x509 about 3 MB; any crypto package the FIPS
// module, about 0.15 MB; fmt with reflect's printing, about 0.25 MB).
// qemu-virt images take their randomness from the board's DRBG; the USB
// armory board reads its SoC RNG through crypto/rand on purpose, so crypto
// is allowed there, and tamago's i.MX drivers use fmt. The proxy links
// fmt through package flow. Without the mirago_dhcp, mirago_ntp and
// mirago_metrics tags (make image DHCP=1, NTP=SERVERS, METRICS=PORT) no
// image links the DHCP client, the SNTP client or the metrics endpoint;
// the SNTP client itself links neither fmt nor crypto. It skips (under CI=true: fails) without the
// TamaGo toolchain.
func TestImageDeps(t *testing.T) {
	require.Toolchain(t)
	require.Commands(t, "qemu-system-arm", "qemu-system-arm")
	require.Commands(t, "make", "make")
	env, why := imageProbe()
	if why != "" {
		t.Fatalf("image environment: %s", why)
	}
	heavy := []string{"log/slog", "encoding/json", "net/http", "crypto/tls", "crypto/x509",
		"github.com/mirago/mirago/stack/dhcp", "github.com/mirago/mirago/internal/metrics", "github.com/mirago/mirago/stack/sntp",
		"github.com/pelletier/go-toml/v2", "github.com/mirago/mirago/app/proxy/conffile"}
	// IPV6=0 (tag mirago_noipv6) links none of IPv6's packages.
	ipv6Pkgs := []string{"github.com/mirago/mirago/stack/ipv6", "github.com/mirago/mirago/stack/icmpv6",
		"github.com/mirago/mirago/stack/ndp", "github.com/mirago/mirago/stack/mld", "github.com/mirago/mirago/internal/addrlog"}
	cases := []struct {
		tag, pkg        string
		noCrypto, noFmt bool
		tls             bool // crypto/tls and x509 allowed (TLS termination built in)
	}{
		{"qemuvirt", "./app/echo", true, true, false},
		{"qemuvirt", "./app/proxy", true, false, false},
		{"qemuvirt", "./bench/image/miecho", true, true, false},
		{"usbarmory", "./app/echo", false, false, false},
		{"usbarmory", "./app/proxy", false, false, false},
		// A proxy image with TLS termination (CONFIG with a tls table)
		// links crypto, and still no TOML parser.
		{"qemuvirt,mirago_tls", "./app/proxy", false, false, true},
		// NTP=10.0.2.2: the SNTP client, and still no fmt or crypto.
		{"qemuvirt,mirago_ntp", "./app/echo", true, true, false},
		// IPV6=0, alone and with every optional part.
		{"qemuvirt,mirago_noipv6", "./app/echo", true, true, false},
		{"qemuvirt,mirago_noipv6,mirago_dhcp,mirago_metrics,mirago_ntp", "./app/echo", true, false, false},
		{"qemuvirt,mirago_noipv6,mirago_dhcp,mirago_metrics", "./app/proxy", true, false, false},
		{"usbarmory,mirago_noipv6", "./app/echo", false, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.tag+"/"+strings.TrimPrefix(tc.pkg, "./"), func(t *testing.T) {
			cmd := exec.Command(env.Tamago, "list", "-deps", "-tags", tc.tag, tc.pkg)
			cmd.Dir = env.Root
			cmd.Env = append(os.Environ(), "GOOS=tamago", "GOOSPKG=github.com/usbarmory/tamago", "GOARCH=arm", "GOARM=7")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
			}
			deps := strings.Fields(string(out))
			noIPv6 := strings.Contains(tc.tag, "mirago_noipv6")
			if !noIPv6 && !slices.Contains(deps, "github.com/mirago/mirago/stack/ndp") {
				t.Errorf("%s without IPV6=0 does not link stack/ndp: IPv6 is on by default", tc.pkg)
			}
			for _, dep := range deps {
				if noIPv6 && slices.Contains(ipv6Pkgs, dep) {
					t.Errorf("%s with IPV6=0 links %s", tc.pkg, dep)
				}
				metrics := strings.Contains(tc.tag, "mirago_metrics") && dep == "github.com/mirago/mirago/internal/metrics"
				dhcp := strings.Contains(tc.tag, "mirago_dhcp") && dep == "github.com/mirago/mirago/stack/dhcp"
				if metrics || dhcp {
					continue
				}
				ntp := strings.Contains(tc.tag, "mirago_ntp") && dep == "github.com/mirago/mirago/stack/sntp"
				bad := slices.Contains(heavy, dep) && !(tc.tls && strings.HasPrefix(dep, "crypto/")) && !ntp || tc.noCrypto && strings.HasPrefix(dep, "crypto/") ||
					tc.noFmt && dep == "fmt"
				if bad {
					t.Errorf("%s links %s", tc.pkg, dep)
				}
			}
		})
	}
}
