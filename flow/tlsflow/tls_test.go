package tlsflow_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/flowtest"
	"github.com/mirago/mirago/flow/tlsflow"
	"github.com/mirago/mirago/internal/testkit/testcert"
)

// tlsPair runs both handshakes over a Pipe so that CloseWrite is possible
// at once (crypto/tls refuses it before the handshake).
func tlsPair(t *testing.T) (a, b flow.Flow) {
	t.Helper()
	scfg, ccfg := testcert.Configs()
	pa, pb := flow.Pipe(flow.PipeOptions{})
	c, s := tlsflow.Client(pa, ccfg), tlsflow.Server(pb, scfg)
	errc := make(chan error, 1)
	go func() { errc <- s.HandshakeContext(context.Background()) }()
	if err := c.HandshakeContext(context.Background()); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	return c, s
}

func TestTLSOverPipeSemantics(t *testing.T) {
	flowtest.Run(t, tlsPair)
}

func TestProxyOverTLS(t *testing.T) {
	flowtest.RunProxy(t, tlsPair)
}

// CloseWrite on a TLS flow before any I/O runs the handshake, then sends
// close_notify and closes the write side below (seed 004 layering).
func TestTLSCloseWriteHandshakes(t *testing.T) {
	flowtest.CheckGoroutines(t)
	scfg, ccfg := testcert.Configs()
	pa, pb := flow.Pipe(flow.PipeOptions{})
	c, s := tlsflow.Client(pa, ccfg), tlsflow.Server(pb, scfg)
	defer c.Close()
	defer s.Close()
	got := make(chan error, 1)
	go func() {
		b, err := io.ReadAll(s)
		if err == nil && len(b) != 0 {
			err = fmt.Errorf("read %q", b)
		}
		if err == nil {
			_, err = s.Write([]byte("reply"))
		}
		if err == nil {
			err = s.CloseWrite()
		}
		got <- err
	}()
	if err := c.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatalf("server: %v", err)
	}
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "reply" {
		t.Fatalf("client read %q, %v", b, err)
	}
	// Close closes the flow below.
	c.Close()
	if _, err := pa.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("underlying Write after TLS Close = %v", err)
	}
}

// Under returns the flow the TLS connection was made over.
func TestUnder(t *testing.T) {
	pa, pb := flow.Pipe(flow.PipeOptions{})
	defer pa.Close()
	defer pb.Close()
	if got := tlsflow.Client(pa, nil).Under(); got != pa {
		t.Fatalf("Client(pa).Under() = %v, want pa", got)
	}
	if got := tlsflow.Server(pb, nil).Under(); got != pb {
		t.Fatalf("Server(pb).Under() = %v, want pb", got)
	}
}
