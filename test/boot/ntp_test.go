//go:build linux

package boot

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/chronytest"
	"github.com/mirago/mirago/internal/testkit/dnsmasqtest"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

// stampRE finds the time= attribute the console puts first once the
// board knows the time, and the one "ntp: clock stepped" carries.
var stampRE = regexp.MustCompile(`time=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)`)

// checkStamp fails t unless line carries a time= no later than the
// host's clock when the line was seen (chronyd serves the host's clock),
// give or take half the round trip of the sample the board set its
// clock from (the bound SNTP gives, RFC 4330 §5) and 20 ms, and no more
// than a second earlier.
func checkStamp(t *testing.T, line string, seen time.Time, delay time.Duration) {
	t.Helper()
	m := stampRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no time in %q", line)
	}
	at, err := time.Parse(time.RFC3339Nano, m[1])
	if err != nil {
		t.Fatal(err)
	}
	if d := seen.Sub(at); d < -(delay/2+20*time.Millisecond) || d > time.Second {
		t.Fatalf("the board logged %v, seen at %v: %v off (round trip %v)", at, seen.UTC(), d, delay)
	}
	t.Logf("board time %v, seen %v later", at, seen.Sub(at))
}

// stepWait bounds the wait for the board's first sync: a first request
// lost while the TAP comes up (the kernel activates a TAP's queue up to
// a second after QEMU opens it) times out in 5 s and is retried 15 s
// later (stack/sntp).
const stepWait = 60 * time.Second

// stepDelay is the round trip logged with "ntp: clock stepped".
func stepDelay(t *testing.T, line string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(` delay=(\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no delay in %q", line)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestBootNTP boots the echo image built with NTP=<the TAP's kernel
// address> on each board, chronyd serving there: the board, which
// starts in 1970, steps its clock to the host's and logs with the right
// date from then on (within half the round trip), and its stack goes on
// serving (TCP and UDP echo over the TAP) after its clock jumped by
// decades, whether the step came at boot or, if the first request was
// lost, while it served.
func TestBootNTP(t *testing.T) {
	root := requireEnv(t)
	chronytest.Require(t)
	for _, board := range boards {
		t.Run(board, func(t *testing.T) {
			tap, n := newTAP(t)
			kernel := fmt.Sprintf("10.199.%d.1", n)
			guestIP := fmt.Sprintf("10.199.%d.15", n)
			chronytest.Start(t, netip.MustParseAddr(kernel))
			image := buildImage(t, root, imageConfig{app: "echo", board: board, port: echoPort,
				ip: guestIP + "/24", gw: kernel, ntp: kernel})
			g := boot(t, root, image, board, "-tap", tap)
			line, err := g.WaitFor(`msg="ntp: clock stepped"`, stepWait)
			seen := time.Now()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("console: %s", line)
			delay := stepDelay(t, line)
			checkStamp(t, line, seen, delay)
			if !strings.Contains(line, "server="+kernel+":123") {
				t.Fatalf("stepped from another server: %s", line)
			}
			if !strings.HasPrefix(line, "time=") {
				t.Fatalf("the console does not log the time once it is known: %s", line)
			}
			if _, err := g.WaitFor(`msg="echo serving"`, readyWait); err != nil {
				t.Fatal(err)
			}
			addr := net.JoinHostPort(guestIP, echoPort)
			waitTCPEcho(t, g, addr)
			bulkEcho(t, addr, 256<<10, nil)
			udpEcho(t, addr, []int{1, 1472})
		})
	}
}

// TestBootNTPFromDHCP: DHCP=1 NTP=dhcp on qemu-virt, dnsmasq handing out
// chronyd's address in option 42. The lease survives the clock step (no
// "lease lost"), and the board serves by its leased address.
func TestBootNTPFromDHCP(t *testing.T) {
	root := requireEnv(t)
	chronytest.Require(t)
	dnsmasqtest.Require(t)
	board := "qemu-virt"
	tap, n := newTAP(t)
	kernel := netip.MustParseAddr(fmt.Sprintf("10.199.%d.1", n))
	chronytest.Start(t, kernel)
	dnsmasqtest.Start(t, &taptest.TAP{Name: tap, Kernel: kernel, N: n}, 0, "--dhcp-option=option:ntp-server,"+kernel.String())
	image := buildImage(t, root, imageConfig{app: "echo", board: board, port: echoPort, dhcp: "1", ntp: "dhcp"})
	g := boot(t, root, image, board, "-tap", tap)
	line, err := g.WaitFor(`msg="ntp: clock stepped"`, stepWait)
	seen := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	checkStamp(t, line, seen, stepDelay(t, line))
	lease, err := g.WaitFor(`msg="stack addressed by dhcp"`, readyWait)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`ip=(10\.199\.\d+\.\d+)/24`).FindStringSubmatch(lease)
	if m == nil {
		t.Fatalf("no address in %q", lease)
	}
	if _, err := g.WaitFor(`msg="echo serving"`, readyWait); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(m[1], echoPort)
	waitTCPEcho(t, g, addr)
	bulkEcho(t, addr, 64<<10, nil)
	if strings.Contains(g.text(), "lease lost") {
		t.Fatalf("the clock step lost the lease:\n%s", g.text())
	}
}
