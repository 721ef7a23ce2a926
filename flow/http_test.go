package flow_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/flowtest"
)

func TestHTTPOverListener(t *testing.T) {
	flowtest.CheckGoroutines(t)
	l := flow.NewListener(flow.Addr{Name: "web:80"})
	srv := &http.Server{Handler: flowtest.HTTPHandler()}
	tr := &http.Transport{DialContext: l.DialContext}
	flowtest.ServeHTTP(t, srv, func() error { return srv.Serve(l) }, tr)
	flowtest.ExerciseHTTP(t, &http.Client{Transport: tr}, "http", false)
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
