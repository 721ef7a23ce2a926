//go:build linux

package flowtcp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/socket"
	"github.com/mirago/mirago/stack/tcp"
)

// tapStack puts a stack on a fresh TAP; the kernel is the peer.
func tapStack(t *testing.T) (*stack.Stack, *taptest.TAP) {
	t.Helper()
	tp := taptest.New(t)
	s, err := stack.New(tp.Dev, stack.Config{Addr: tp.Ours})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, tp
}

// testMux answers /hello with the client's address and whether TLS was
// used, and echoes POST /echo bodies.
func testMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s tls=%v", r.RemoteAddr, r.TLS != nil && r.TLS.HandshakeComplete)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		// HTTP/1: read the whole body before answering (net/http may
		// stop reading the body once the response has started).
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Write(body)
	})
	return mux
}

// serve runs srv on ln until the test ends, then shuts it down and checks
// that Serve returned http.ErrServerClosed.
func serve(t *testing.T, srv *http.Server, ln net.Listener, tlsOn bool) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		if tlsOn {
			done <- srv.ServeTLS(ln, "", "")
		} else {
			done <- srv.Serve(ln)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v, want http.ErrServerClosed", err)
		}
	})
}

// payload is n pseudo-random bytes.
func payload(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// kernelHTTPClient is a net/http client on the kernel's TCP.
func kernelHTTPClient(cfg *tls.Config) *http.Client {
	return &http.Client{Timeout: wait, Transport: &http.Transport{TLSClientConfig: cfg, DisableCompression: true}}
}

// checkGetAndEcho does two GETs (the second on the kept-alive
// connection) and a 1 MiB POST echo with client against base.
func checkGetAndEcho(t *testing.T, client *http.Client, base string, wantTLS bool) {
	t.Helper()
	for range 2 {
		resp, err := client.Get(base + "/hello")
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !strings.HasPrefix(string(body), "hello ") || !strings.HasSuffix(string(body), fmt.Sprintf("tls=%v", wantTLS)) {
			t.Fatalf("GET = %q, %v", body, err)
		}
	}
	big := payload(1 << 20)
	resp, err := client.Post(base+"/echo", "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(body, big) {
		t.Fatalf("POST echo: %d bytes back of %d, %v", len(body), len(big), err)
	}
}

// curl runs curl with args and returns its output. The tests that call
// it require curl up front (taptest.Require).
func curl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-sS", "--max-time", "10", "--noproxy", "*"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestHTTPServerOnOurTCP: an http.Server serving on our *tcp.Listener,
// answering curl and a Go client, both on the kernel's TCP over the TAP.
func TestHTTPServerOnOurTCP(t *testing.T) {
	taptest.Require(t, "curl")
	s, tp := tapStack(t)
	ln, err := s.TCP().Listen(8080)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, &http.Server{Handler: testMux(), ReadHeaderTimeout: wait}, ln, false)
	base := fmt.Sprintf("http://%s:8080", tp.OursAddr())
	out := curl(t, base+"/hello")
	want := fmt.Sprintf("hello %s:", tp.Kernel)
	if !strings.HasPrefix(out, want) || !strings.HasSuffix(out, "tls=false") {
		t.Fatalf("curl GET = %q, want %q...", out, want)
	}
	f := filepath.Join(t.TempDir(), "body")
	big := payload(256 << 10)
	os.WriteFile(f, big, 0o644)
	if out := curl(t, "--data-binary", "@"+f, "-H", "Content-Type: application/octet-stream", base+"/echo"); out != string(big) {
		t.Fatalf("curl POST echo: %d bytes back of %d", len(out), len(big))
	}
	client := kernelHTTPClient(nil)
	defer client.CloseIdleConnections()
	checkGetAndEcho(t, client, base, false)
}

// TestHTTPClientOnOurTCP: a net/http client whose Transport dials through
// our stack, to a Go HTTP server on the kernel's side of the TAP.
func TestHTTPClientOnOurTCP(t *testing.T) {
	s, tp := tapStack(t)
	kln, err := net.Listen("tcp", netip.AddrPortFrom(tp.Kernel, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	serve(t, &http.Server{Handler: testMux(), ReadHeaderTimeout: wait}, kln, false)
	var dialed atomic.Int32
	tr := &http.Transport{
		DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return nil, err
			}
			dialed.Add(1)
			return s.TCP().Dial(ctx, ap)
		},
	}
	client := &http.Client{Transport: tr, Timeout: wait}
	defer tr.CloseIdleConnections()
	checkGetAndEcho(t, client, "http://"+kln.Addr().String(), false)
	if dialed.Load() == 0 {
		t.Fatal("the transport never dialled through our stack")
	}
	// The server saw our address.
	resp, err := client.Get("http://" + kln.Addr().String() + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), fmt.Sprintf("hello %s:", tp.OursAddr())) {
		t.Fatalf("server saw %q, want our address %s", body, tp.OursAddr())
	}
}

// TestTLSOverTAP: a crypto/tls server on our stack, a crypto/tls client
// on the kernel's TCP (tls.Dial); a 4 MiB transfer each way with a
// half-close on our side (our flow type, under tls.Conn).
func TestTLSOverTAP(t *testing.T) {
	s, tp := tapStack(t)
	ln, err := s.TCP().Listen(8443)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	scfg, ccfg := certs()
	const size = 4 << 20
	up, down := payload(size), payload(size+1)
	type result struct {
		sum [32]byte
		n   int
		err error
	}
	srv := make(chan result, 1)
	go func() {
		c, err := ln.AcceptTCP()
		if err != nil {
			srv <- result{err: err}
			return
		}
		tc := tls.Server(c, scfg)
		defer tc.Close()
		tc.SetDeadline(time.Now().Add(time.Minute))
		werr := make(chan error, 1)
		go func() {
			_, err := tc.Write(down)
			if err == nil {
				err = tc.CloseWrite() // close_notify, then our TCP FIN
			}
			werr <- err
		}()
		got, err := io.ReadAll(tc)
		if e := <-werr; err == nil {
			err = e
		}
		srv <- result{sha256.Sum256(got), len(got), err}
	}()
	d := net.Dialer{Timeout: wait}
	kc, err := tls.DialWithDialer(&d, "tcp", netip.AddrPortFrom(tp.OursAddr(), 8443).String(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	kc.SetDeadline(time.Now().Add(time.Minute))
	if st := kc.ConnectionState(); !st.HandshakeComplete || st.Version != tls.VersionTLS13 {
		t.Fatalf("handshake: complete %v, version %x", st.HandshakeComplete, st.Version)
	}
	werr := make(chan error, 1)
	go func() {
		_, err := kc.Write(up)
		if err == nil {
			err = kc.CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(kc)
	if err != nil || !bytes.Equal(got, down) {
		t.Fatalf("kernel read %d of %d bytes, %v", len(got), len(down), err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("kernel write: %v", err)
	}
	r := <-srv
	if r.err != nil || r.n != size || r.sum != sha256.Sum256(up) {
		t.Fatalf("our side read %d of %d bytes (sha256 ok %v), %v", r.n, size, r.sum == sha256.Sum256(up), r.err)
	}
}

// TestHTTPSOnOurStack: net/http's own TLS (ServeTLS, so Request.TLS is
// set) on a listener from the tamago socket adapter, ":443"-style, with
// curl and a Go client from the kernel side.
func TestHTTPSOnOurStack(t *testing.T) {
	taptest.Require(t, "curl")
	s, tp := tapStack(t)
	v, err := socket.New(s).Socket(context.Background(), "tcp", syscall.AF_INET, syscall.SOCK_STREAM, &net.TCPAddr{Port: 4443}, nil)
	if err != nil {
		t.Fatal(err)
	}
	scfg, ccfg := certs()
	srv := &http.Server{Handler: testMux(), TLSConfig: scfg, ReadHeaderTimeout: wait}
	serve(t, srv, v.(net.Listener), true)
	base := fmt.Sprintf("https://%s:4443", serverName)
	// Resolve serverName to our address for both clients.
	ours := netip.AddrPortFrom(tp.OursAddr(), 4443).String()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: scfg.Certificates[0].Certificate[0]}), 0o644)
	out := curl(t, "--cacert", ca, "--resolve", serverName+":4443:"+tp.OursAddr().String(), base+"/hello")
	if !strings.HasPrefix(out, fmt.Sprintf("hello %s:", tp.Kernel)) || !strings.HasSuffix(out, "tls=true") {
		t.Fatalf("curl GET = %q", out)
	}
	client := kernelHTTPClient(ccfg)
	client.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, ours)
	}
	defer client.CloseIdleConnections()
	checkGetAndEcho(t, client, base, true)
}

var _ net.Listener = (*tcp.Listener)(nil)
