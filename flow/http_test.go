package flow_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/flowtest"
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

// exercise runs a GET and a large POST through client and checks them.
func exercise(t *testing.T, client *http.Client, scheme string, wantTLS bool) {
	t.Helper()
	for range 2 { // the second request reuses the kept-alive flow
		resp, err := client.Get(scheme + "://web/hello")
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
	resp, err := client.Post(scheme+"://web/echo", "application/octet-stream", bytes.NewReader(data))
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

func TestHTTPOverListener(t *testing.T) {
	flowtest.CheckGoroutines(t)
	l := flow.NewListener(flow.Addr{Name: "web:80"})
	srv := &http.Server{Handler: handler()}
	tr := &http.Transport{DialContext: l.DialContext}
	serve(t, srv, func() error { return srv.Serve(l) }, tr)
	exercise(t, &http.Client{Transport: tr}, "http", false)
}

func TestListenerClose(t *testing.T) {
	flowtest.CheckGoroutines(t)
	l := flow.NewListener(nil)
	accepted := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		accepted <- err
	}()
	l.Close()
	l.Close()
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if _, err := l.Dial(context.Background()); !errors.Is(err, flow.ErrRefused) {
		t.Fatalf("Dial after Close = %v, want ErrRefused", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := flow.NewListener(nil).Dial(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial with a cancelled context = %v", err)
	}
}
