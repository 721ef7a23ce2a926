package boot

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/testcert"
)

// TestBootProxyConfig boots, on each board, a proxy image whose
// configuration file was linked in at build time (make image CONFIG=):
// two listeners, one plain over a round-robin pool of two upstreams and
// one terminating TLS with a certificate from files, which adds
// crypto/tls to that image only. Both must serve; the TLS client checks
// the linked certificate.
func TestBootProxyConfig(t *testing.T) {
	root := requireEnv(t)
	for _, board := range boards {
		t.Run(board, func(t *testing.T) {
			up1, up2 := startUpstream(t, "127.0.0.1:0"), startUpstream(t, "127.0.0.1:0")
			dir := t.TempDir()
			cert, key := testcert.PEMFor("mirago.test")
			os.WriteFile(filepath.Join(dir, "cert.pem"), cert, 0o600)
			os.WriteFile(filepath.Join(dir, "key.pem"), key, 0o600)
			conf := filepath.Join(dir, "proxy.toml")
			os.WriteFile(conf, []byte(fmt.Sprintf(`
[listener.plain]
port = 8080
pool = "echo"
allow = ["0.0.0.0/0"]
[listener.secure]
port = 8443
pool = "echo"
allow = ["0.0.0.0/0"]
[listener.secure.tls]
cert = "cert.pem"
key = "key.pem"
[pool.echo]
upstreams = ["10.0.2.2:%s", "10.0.2.2:%s"]
`, up1.port(), up2.port())), 0o600)
			image := buildImage(t, root, imageConfig{app: "proxy", board: board, config: conf})
			plain, secure := freePort(t, "tcp"), freePort(t, "tcp")
			// Go 1.26's crypto/rand, which crypto/tls links, has a 32
			// MiB scratch buffer in BSS (crypto/internal/fips140/
			// drbg.memory): the TLS image needs more RAM than the
			// others' 32 MiB.
			args := []string{"-fwd", plain + ":8080", "-fwd", secure + ":8443"}
			if board == "qemu-virt" {
				args = append([]string{"-m", "128M"}, args...)
			}
			g := boot(t, root, image, board, args...)
			g.waitFor(t, `listener=secure port=8443`)
			addr := "127.0.0.1:" + plain
			waitTCPEcho(t, g, addr)
			bulkEcho(t, addr, 256<<10, nil)
			parallelEcho(t, addr, 4, 64<<10, true)
			if up1.conns.Load() == 0 || up2.conns.Load() == 0 {
				t.Fatalf("round robin: upstreams saw %d and %d connections", up1.conns.Load(), up2.conns.Load())
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(cert)
			c, err := tls.Dial("tcp", "127.0.0.1:"+secure, &tls.Config{RootCAs: pool, ServerName: "mirago.test"})
			if err != nil {
				t.Fatalf("TLS to the image: %v", err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(bulkWait))
			msg := []byte("through TLS, then plain to the upstream")
			c.Write(msg)
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
				t.Fatalf("TLS echo: %q, %v", got, err)
			}
		})
	}
}
