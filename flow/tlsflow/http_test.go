package tlsflow_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/flowtest"
	"github.com/mirago/mirago/flow/tlsflow"
	"github.com/mirago/mirago/internal/testcert"
)

// handler answers /hello with the client's address and whether TLS was
// used, and echoes POST bodies.
func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s tls=%v", r.RemoteAddr, r.TLS != nil && r.TLS.HandshakeComplete)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	})
	return mux
}

// tlsListener wraps accepted flows in tlsflow.Server.
type tlsListener struct {
	*flow.Listener
	cfg *tls.Config
}

func (l tlsListener) Accept() (net.Conn, error) {
	f, err := l.AcceptFlow()
	if err != nil {
		return nil, err
	}
	return tlsflow.Server(f, l.cfg), nil
}

// exercise runs a GET and a large POST through client and checks them.
func exercise(t *testing.T, client *http.Client, wantTLS bool) {
	t.Helper()
	for range 2 { // the second request reuses the kept-alive flow
		resp, err := client.Get("https://web/hello")
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf("tls=%v", wantTLS)
		if err != nil || !strings.HasPrefix(string(body), "hello client-") || !strings.HasSuffix(string(body), want) {
			t.Fatalf("GET body = %q, %v; want hello client-N ... %s", body, err, want)
		}
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	resp, err := client.Post("https://web/echo", "application/octet-stream", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("POST echo: %d bytes, %v; want %d bytes back", len(got), err, len(data))
	}
}

// serve runs srv on l until the test ends, then checks it stopped cleanly.
func serve(t *testing.T, srv *http.Server, run func() error, tr *http.Transport) {
	errc := make(chan error, 1)
	go func() { errc <- run() }()
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
}

// The server is net/http's own TLS; the client dials a tlsflow.Conn over
// the in-memory listener.
func TestHTTPSWithClient(t *testing.T) {
	flowtest.CheckGoroutines(t)
	scfg, ccfg := testcert.Configs()
	l := flow.NewListener(flow.Addr{Name: "web:443"})
	srv := &http.Server{Handler: handler(), TLSConfig: scfg}
	tr := &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			f, err := l.Dial(ctx)
			if err != nil {
				return nil, err
			}
			c := tlsflow.Client(f, ccfg)
			if err := c.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		},
	}
	serve(t, srv, func() error { return srv.ServeTLS(l, "", "") }, tr)
	exercise(t, &http.Client{Transport: tr}, true)
}

// The server runs over tlsflow.Conn; the client is net/http's own TLS over
// in-memory flows. (net/http only sees *tls.Conn as TLS, so r.TLS is nil.)
func TestHTTPSWithServer(t *testing.T) {
	flowtest.CheckGoroutines(t)
	scfg, ccfg := testcert.Configs()
	l := flow.NewListener(flow.Addr{Name: "web:443"})
	srv := &http.Server{Handler: handler()}
	tr := &http.Transport{DialContext: l.DialContext, TLSClientConfig: ccfg}
	serve(t, srv, func() error { return srv.Serve(tlsListener{l, scfg}) }, tr)
	exercise(t, &http.Client{Transport: tr}, false)
}
