//go:build linux

package boot

import (
	"debug/elf"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const metricsPort = "9100"

// TestBootEchoMetrics boots the echo image built with METRICS=9100 on
// qemu-virt and scrapes its Prometheus endpoint through a forwarded port
// after an echo exchange: the stack's and the app's counters must be
// there and show the exchange. It also checks the build option itself:
// the default image does not link the endpoint, the METRICS one does.
func TestBootEchoMetrics(t *testing.T) {
	root := requireEnv(t)
	const board = "qemu-virt"
	lean := buildImage(t, root, imageConfig{app: "echo", board: board, port: echoPort})
	full := buildImage(t, root, imageConfig{app: "echo", board: board, port: echoPort, metrics: metricsPort})
	const serve = "github.com/mirago/mirago/internal/metrics.ServeListener"
	if hasSymbol(t, lean, serve) {
		t.Errorf("the image built without METRICS links %s", serve)
	}
	if !hasSymbol(t, full, serve) {
		t.Errorf("the image built with METRICS=%s does not link %s", metricsPort, serve)
	}

	echoHost, metricsHost := freePort(t, "tcp"), freePort(t, "tcp")
	g := boot(t, root, full, board, "-fwd", echoHost+":"+echoPort, "-fwd", metricsHost+":"+metricsPort)
	g.waitFor(t, `msg="metrics serving"`)
	g.waitFor(t, `msg="echo serving"`)
	waitTCPEcho(t, g, "127.0.0.1:"+echoHost)

	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get("http://127.0.0.1:" + metricsHost + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("scrape body: %v", err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("scrape: %s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	samples := map[string]string{}
	for _, l := range strings.Split(string(body), "\n") {
		if name, value, ok := strings.Cut(l, " "); ok && !strings.HasPrefix(l, "#") {
			samples[name] = value
		}
	}
	// waitTCPEcho made at least one echo connection; the guest received
	// TCP segments to do it.
	for _, name := range []string{`mirago_echo_tcp_accepted{family="ipv4"}`, `mirago_tcp_segments_in{family="ipv4"}`, "mirago_metrics_scrapes"} {
		v, ok := samples[name]
		if !ok {
			t.Errorf("no sample %s in the scrape:\n%s", name, body)
			continue
		}
		if name != "mirago_metrics_scrapes" && (v == "0" || v == "") {
			t.Errorf("%s = %s after an echo exchange", name, v)
		}
	}
}

// hasSymbol reports whether the ELF image at path defines symbol.
func hasSymbol(t *testing.T, path, symbol string) bool {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, s := range syms {
		if s.Name == symbol {
			return true
		}
	}
	return false
}
