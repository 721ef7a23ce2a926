//go:build linux

// Host side of the httpnet image: build it with the TamaGo toolchain, boot
// it under QEMU with user networking, and talk to it with the standard
// library (and curl) through forwarded ports.

package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/qemurun"
	"github.com/mirago/mirago/internal/testkit/require"
)

const (
	buildWait = 3 * time.Minute
	bootWait  = 60 * time.Second // boot to serving, and each exchange, under TCG
)

// TestHTTPNetBoot boots the image and checks net.Listen + net/http
// (GET and a 256 KiB POST echo, from Go and from curl), net.ListenPacket
// (UDP echo) and net/http's client (http.Get from the guest to a server
// on the host, reached as the user-net gateway 10.0.2.2). It needs the
// TamaGo toolchain, QEMU and curl (requireEnv).
func TestHTTPNetBoot(t *testing.T) {
	// -short is for quick runs by hand; CI and make test never set it.
	if testing.Short() {
		t.Skip("boot test skipped in -short mode")
	}
	root, tamago := requireEnv(t)

	// The host server the guest fetches from.
	fetched := make(chan string, 1)
	hln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hsrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case fetched <- r.Method + " " + r.URL.Path:
		default:
		}
		io.WriteString(w, "host says hi")
	})}
	go hsrv.Serve(hln)
	t.Cleanup(func() { hsrv.Close() })
	_, upPort, _ := net.SplitHostPort(hln.Addr().String())

	image := filepath.Join(t.TempDir(), "httpnet.elf")
	ctx, cancel := context.WithTimeout(context.Background(), buildWait)
	defer cancel()
	build := exec.CommandContext(ctx, tamago, "build", "-tags", "qemuvirt,linkcpuinit", "-trimpath",
		"-ldflags", "-T 0x40101000 -R 0x1000 -X github.com/mirago/mirago/internal/buildcfg.UPSTREAM="+upPort,
		"-o", image, "./test/boot/httpnet")
	build.Dir = root
	build.Env = append(os.Environ(), "GOOS=tamago", "GOOSPKG=github.com/usbarmory/tamago", "GOARCH=arm", "GOARM=7")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the image: %v\n%s", err, out)
	}

	tcpPort, udpPort := freePort(t, "tcp"), freePort(t, "udp")
	// -m 256M: with net/http and its dependencies the image loads about
	// 40 MB (most of it bss), past scripts/qemu.sh's 32M default.
	g := boot(t, root, image, "-m", "256M", "-fwd", tcpPort+":80", "-fwd", "udp:"+udpPort+":5353")
	g.waitFor(t, "httpnet: listener deadline ok")
	g.waitFor(t, "httpnet: serving http on :80, udp on :5353")

	base := "http://127.0.0.1:" + tcpPort
	client := &http.Client{Timeout: bootWait}
	defer client.CloseIdleConnections()
	resp, err := client.Get(base + "/hello")
	if err != nil {
		t.Fatalf("GET /hello: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.HasPrefix(string(body), "hello 10.0.2.2:") || !strings.HasSuffix(string(body), "on tamago/arm via net.Listen") {
		t.Fatalf("GET /hello = %q, %v", body, err)
	}
	t.Logf("GET /hello: %s", body)
	big := bytes.Repeat([]byte("mirago on tamago "), 256<<10/17)
	resp, err = client.Post(base+"/echo", "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		t.Fatalf("POST /echo: %v", err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(body, big) {
		t.Fatalf("POST /echo: %d bytes back of %d, %v", len(body), len(big), err)
	}
	out, err := exec.Command("curl", "-sS", "--max-time", "60", "--noproxy", "*", base+"/hello").CombinedOutput()
	if err != nil || !strings.HasSuffix(string(out), "via net.Listen") {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	t.Logf("curl: %s", out)

	// UDP echo through net.ListenPacket.
	uc, err := net.Dial("udp", "127.0.0.1:"+udpPort)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	uc.SetDeadline(time.Now().Add(bootWait))
	if _, err := uc.Write([]byte("ping over udp")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := uc.Read(buf)
	if err != nil || string(buf[:n]) != "ping over udp" {
		t.Fatalf("UDP echo = %q, %v", buf[:n], err)
	}

	// The guest's own http.Get reached the host.
	select {
	case req := <-fetched:
		if req != "GET /from-guest" {
			t.Fatalf("host server got %q", req)
		}
	case <-time.After(bootWait):
		t.Fatal("the guest's http.Get never reached the host server")
	}
	g.waitFor(t, `httpnet: GET http://10.0.2.2:`+upPort+`/from-guest: 200 OK "host says hi"`)
	if strings.Contains(g.text(), "FAIL") {
		t.Fatalf("guest failed")
	}
}

// requireEnv ends t unless the TamaGo toolchain, QEMU and curl are here (a skip
// naming what is missing, or under CI=true a failure); it returns the
// module root and the tamago command.
func requireEnv(t *testing.T) (root, tamago string) {
	t.Helper()
	root = require.ModuleRoot(t)
	tamago = require.Toolchain(t)
	require.Commands(t, "qemu-system-arm", "qemu-system-arm")
	require.Commands(t, "curl", "curl")
	return root, tamago
}

// guest is one QEMU run (internal/testkit/qemurun) with test-failing helpers.
type guest struct{ *qemurun.Guest }

func (g *guest) text() string { return g.Console() }

// boot starts scripts/qemu.sh image args... on qemu-virt; QEMU is killed
// when t ends and its console logged.
func boot(t *testing.T, root, image string, args ...string) *guest {
	t.Helper()
	g, err := qemurun.Start(root, image, "qemu-virt", args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.Stop()
		t.Logf("console:\n%s", g.Console())
	})
	return &guest{g}
}

// waitFor polls the console for want until bootWait, failing t if QEMU
// exits first.
func (g *guest) waitFor(t *testing.T, want string) {
	t.Helper()
	if _, err := g.WaitFor(want, bootWait); err != nil {
		t.Fatal(err)
	}
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T, network string) string {
	t.Helper()
	p, err := qemurun.FreePort(network)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
