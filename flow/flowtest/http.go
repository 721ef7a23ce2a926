package flowtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// HTTPHandler answers GET /hello with the client's address and whether
// TLS was used, and echoes POST /echo bodies; ExerciseHTTP drives it.
func HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s tls=%v", r.RemoteAddr, r.TLS != nil && r.TLS.HandshakeComplete)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	})
	return mux
}

// ExerciseHTTP runs two GETs (the second on the kept-alive flow) and a
// 1 MiB POST through client against HTTPHandler at scheme://web and checks
// the answers: remote addresses named client-N, TLS as wantTLS, the POST
// body echoed whole.
func ExerciseHTTP(t *testing.T, client *http.Client, scheme string, wantTLS bool) {
	t.Helper()
	for range 2 {
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

// ServeHTTP runs run (srv's Serve or ServeTLS on some listener) until the
// test ends; then it closes tr's idle connections and srv, and checks
// that run returned http.ErrServerClosed.
func ServeHTTP(t *testing.T, srv *http.Server, run func() error, tr *http.Transport) {
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
