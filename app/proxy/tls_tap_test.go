//go:build linux

package main

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/internal/testkit/testcert"
)

// tlsServer is a kernel HTTPS server with a certificate for name that
// answers every request with body.
func tlsServer(t *testing.T, tp *taptest.TAP, name, body string) string {
	cert, key := testcert.PEMFor(name)
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	ln := kernelListener(t, tp)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}}}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// SNI routing without terminating TLS: curl --resolve and openssl
// s_client ask for a.test and b.test on one port and reach the kernel
// servers of two pools, each with its own certificate; other names, and
// none, go to the default pool.
func TestProxySNIRouting(t *testing.T) {
	taptest.Require(t, "curl", "openssl")
	tp := taptest.New(t)
	a, b, d := tlsServer(t, tp, "a.test", "A"), tlsServer(t, tp, "b.test", "B"), tlsServer(t, tp, "default.test", "D")
	r := startTOML(t, tp, fmt.Sprintf(`
[listener.tls]
port = 8443
pool = "d"
[listener.tls.sni]
"a.test" = "a"
"*.b.test" = "b"
"b.test" = "b"
[pool.a]
upstreams = [%q]
[pool.b]
upstreams = [%q]
[pool.d]
upstreams = [%q]
`, a, b, d))
	ours := tp.OursAddr().String()
	for name, want := range map[string]string{"a.test": "A", "b.test": "B", "www.b.test": "B", "c.test": "D"} {
		out, err := exec.Command("curl", "-sS", "-k", "--max-time", "10", "--resolve", name+":8443:"+ours,
			"https://"+name+":8443/").CombinedOutput()
		if err != nil || string(out) != want {
			t.Errorf("curl https://%s:8443/: %q, %v; want %q", name, out, err, want)
		}
	}
	for name, cn := range map[string]string{"a.test": "a.test", "b.test": "b.test"} {
		cmd := exec.Command("openssl", "s_client", "-connect", ours+":8443", "-servername", name, "-brief")
		cmd.Stdin = strings.NewReader("")
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "CN = "+cn) && !strings.Contains(string(out), "CN="+cn) {
			t.Errorf("openssl s_client -servername %s: no certificate for %s:\n%s", name, cn, out)
		}
	}
	// An IP literal target sends no server name: the default pool.
	out, err := exec.Command("curl", "-sS", "-k", "--max-time", "10", "https://"+ours+":8443/").CombinedOutput()
	if err != nil || string(out) != "D" {
		t.Errorf("curl without SNI: %q, %v", out, err)
	}
	stacktest.WaitFor(t, "the log lines", 5*time.Second, func() bool { return strings.Contains(r.logs.String(), "sni=www.b.test") })
	if l := logLine(r.logs.String(), "sni=www.b.test"); !strings.Contains(l, "pool=b") {
		t.Fatalf("log line: %s", l)
	}
}

// TLS termination: curl speaks HTTPS to us with our certificate (checked
// against it as a CA), the kernel upstream gets plain HTTP; a 16 MiB
// download arrives intact. A client that fails the handshake is counted.
func TestProxyTLSTermination(t *testing.T) {
	taptest.Require(t, "curl")
	tp := taptest.New(t)
	size := min(bigSize(), 16<<20)
	up, want := blobServer(t, tp, size)
	dir := t.TempDir()
	cert, key := testcert.PEMFor("mirago.test")
	os.WriteFile(filepath.Join(dir, "cert.pem"), cert, 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), key, 0o600)
	text := fmt.Sprintf(`
[listener.https]
port = 8443
pool = "web"
[listener.https.tls]
cert = %q
key = %q
[pool.web]
upstreams = [%q]
`, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), up)
	r := startTOML(t, tp, text)
	cmd := exec.Command("curl", "-sS", "--fail", "--max-time", "60", "--cacert", filepath.Join(dir, "cert.pem"),
		"--resolve", "mirago.test:8443:"+tp.OursAddr().String(), "https://mirago.test:8443/blob")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	if got := sha256Of(out); int64(len(out)) != size || got != want {
		t.Fatalf("curl got %d bytes (want %d), sha256 match %v", len(out), size, got == want)
	}
	// Plain HTTP to the TLS port fails the handshake: reset, counted.
	c, err := net.DialTimeout("tcp4", r.addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	io.Copy(io.Discard, c)
	c.Close()
	stacktest.WaitFor(t, "the refusal", 5*time.Second, func() bool { return r.p.Stats().RefusedTLS == 1 })
	stacktest.WaitFor(t, "the log line of the failed handshake", 5*time.Second, func() bool {
		return strings.Contains(r.logs.String(), "outcome=tls")
	})
}

func sha256Of(b []byte) [32]byte { return sha256.Sum256(b) }
