package flowtcp_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/netip"
	"syscall"
	"testing"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/flowtest"
	"github.com/mirago/mirago/flow/mimic"
	"github.com/mirago/mirago/flow/tlsflow"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// TCPEndpoint is the endpoint of the TCP protocol: a stack to dial from
// and the address to dial.
type TCPEndpoint struct {
	Stack *stack.Stack
	Addr  netip.AddrPort
}

// TLSEndpoint is the endpoint of TLS over TCP.
type TLSEndpoint struct {
	TCP    TCPEndpoint
	Config *tls.Config
}

// protocols is a registry with TCP (priority 10) and TLS over TCP
// (priority 0), and the keys a context needs.
type protocols struct {
	reg    *mimic.Registry
	tcp    mimic.Key[TCPEndpoint]
	tls    mimic.Key[TLSEndpoint]
	tlsCfg mimic.Key[*tls.Config]
}

func dialTCP(ctx context.Context, e TCPEndpoint) (*tcp.Conn, error) {
	return e.Stack.TCP().Dial(ctx, e.Addr)
}

func newProtocols(tlsFirst bool) *protocols {
	p := &protocols{reg: new(mimic.Registry), tlsCfg: mimic.NewKey[*tls.Config]("tls-config")}
	regTCP := func() {
		p.tcp, _ = mimic.Register(p.reg, "tcp", 10, func(ctx context.Context, e TCPEndpoint) (flow.Flow, error) {
			c, err := dialTCP(ctx, e)
			if err != nil {
				return nil, err
			}
			return c, nil
		})
	}
	regTLS := func() {
		p.tls, _ = mimic.Register(p.reg, "tls", 0, func(ctx context.Context, e TLSEndpoint) (flow.Flow, error) {
			c, err := dialTCP(ctx, e.TCP)
			if err != nil {
				return nil, err
			}
			f := tlsflow.Client(c, e.Config)
			if err := f.HandshakeContext(ctx); err != nil {
				f.Close()
				return nil, err
			}
			return f, nil
		})
	}
	if tlsFirst {
		regTLS()
		regTCP()
	} else {
		regTCP()
		regTLS()
	}
	return p
}

// withTLS adds the derivation of the TLS endpoint from the TCP endpoint
// and a TLS config.
func (p *protocols) withTLS(c mimic.Ctx) mimic.Ctx {
	return mimic.Derive2(c, p.tls, mimic.Req(p.tcp), mimic.Req(p.tlsCfg),
		func(_ context.Context, e TCPEndpoint, cfg *tls.Config) (TLSEndpoint, error) {
			return TLSEndpoint{e, cfg}, nil
		})
}

// echoServer listens on stack B and echoes every connection, over TLS if
// cfg is set, until the test ends.
func echoServer(t *testing.T, st *stacks, cfg *tls.Config) netip.AddrPort {
	t.Helper()
	port := st.nextPort()
	ln, err := st.b.TCP().Listen(port)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			var f flow.Flow = c
			if cfg != nil {
				f = tlsflow.Server(c, cfg)
			}
			flow.Forward(context.Background(), f, f, flow.Options{})
			f.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return netip.AddrPortFrom(addrB, port)
}

func checkEcho(t *testing.T, f flow.Flow) {
	t.Helper()
	defer f.Close()
	if _, err := f.Write([]byte("mimic")); err != nil {
		t.Fatal(err)
	}
	if err := f.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil || string(got) != "mimic" {
		t.Fatalf("echo = %q, %v", got, err)
	}
}

// Without a TLS config only TCP applies: the flow is a *tcp.Conn.
func TestMimicTCP(t *testing.T) {
	st := newStacks(t)
	flowtest.CheckGoroutines(t)
	p := newProtocols(false)
	addr := echoServer(t, st, nil)
	c := p.withTLS(mimic.With(mimic.Ctx{}, p.tcp, TCPEndpoint{st.a, addr}))
	f, err := p.reg.Resolve(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.(*tcp.Conn); !ok {
		t.Fatalf("resolved %T, want *tcp.Conn", f)
	}
	checkEcho(t, f)
}

// With a TLS config both apply; TLS has the lower priority value and wins
// whatever the registration order.
func TestMimicTLSOverTCPByPriority(t *testing.T) {
	st := newStacks(t)
	for _, tlsFirst := range []bool{false, true} {
		flowtest.CheckGoroutines(t)
		scfg, ccfg := certs()
		p := newProtocols(tlsFirst)
		addr := echoServer(t, st, scfg)
		c := p.withTLS(mimic.With(mimic.With(mimic.Ctx{}, p.tcp, TCPEndpoint{st.a, addr}), p.tlsCfg, ccfg))
		ps, err := p.reg.Applicable(context.Background(), c)
		if err != nil || len(ps) != 2 || ps[0].Name() != "tls" || ps[1].Name() != "tcp" {
			t.Fatalf("Applicable = %v, %v; want [tls tcp]", ps, err)
		}
		f, err := p.reg.Resolve(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		tf, ok := f.(*tlsflow.Conn)
		if !ok {
			t.Fatalf("resolved %T, want *tlsflow.Conn", f)
		}
		if !tf.ConnectionState().HandshakeComplete {
			t.Fatal("handshake not complete")
		}
		if _, ok := tf.Under().(*tcp.Conn); !ok {
			t.Fatalf("TLS runs over %T, want *tcp.Conn", tf.Under())
		}
		checkEcho(t, f)
	}
}

// A refused TLS connection falls through to plain TCP on another port;
// when everything is refused the ConnectErrors say so.
func TestMimicConnectFallback(t *testing.T) {
	st := newStacks(t)
	flowtest.CheckGoroutines(t)
	_, ccfg := certs()
	p := newProtocols(false)
	plain := echoServer(t, st, nil)
	closed := netip.AddrPortFrom(addrB, st.nextPort()) // nobody listens
	c := mimic.With(mimic.With(mimic.Ctx{}, p.tcp, TCPEndpoint{st.a, plain}), p.tlsCfg, ccfg)
	c = mimic.Derive1(c, p.tls, mimic.Req(p.tlsCfg), func(_ context.Context, cfg *tls.Config) (TLSEndpoint, error) {
		return TLSEndpoint{TCPEndpoint{st.a, closed}, cfg}, nil
	})
	f, err := p.reg.Resolve(context.Background(), c)
	if err != nil {
		t.Fatalf("Resolve with a fallback: %v", err)
	}
	if _, ok := f.(*tcp.Conn); !ok {
		t.Fatalf("resolved %T, want *tcp.Conn (TLS was refused)", f)
	}
	checkEcho(t, f)

	_, err = p.reg.Resolve(context.Background(), mimic.With(mimic.Ctx{}, p.tcp, TCPEndpoint{st.a, closed}))
	var ce *mimic.ConnectError
	if !errors.As(err, &ce) || ce.Protocol != "tcp" || !errors.Is(err, syscall.ECONNREFUSED) || !errors.Is(err, tcp.ErrRefused) {
		t.Fatalf("Resolve to a closed port = %v; want a tcp ConnectError matching ECONNREFUSED", err)
	}
}

func TestMimicNotFound(t *testing.T) {
	p := newProtocols(false)
	_, err := p.reg.Resolve(context.Background(), p.withTLS(mimic.Ctx{}))
	if !errors.Is(err, mimic.ErrNotFound) {
		t.Fatalf("Resolve(empty) = %v, want ErrNotFound", err)
	}
	// A TLS config alone does not make a TLS endpoint.
	_, ccfg := certs()
	_, err = p.reg.Resolve(context.Background(), p.withTLS(mimic.With(mimic.Ctx{}, p.tlsCfg, ccfg)))
	if !errors.Is(err, mimic.ErrNotFound) {
		t.Fatalf("Resolve(config only) = %v, want ErrNotFound", err)
	}
}

func TestMimicCycle(t *testing.T) {
	p := newProtocols(false)
	// The TCP endpoint is derived from the TLS endpoint, which is derived
	// from the TCP endpoint: nothing applies, and the cycle is reported.
	_, ccfg := certs()
	c := p.withTLS(mimic.With(mimic.Ctx{}, p.tlsCfg, ccfg))
	c = mimic.Derive1(c, p.tcp, mimic.Req(p.tls), func(_ context.Context, e TLSEndpoint) (TCPEndpoint, error) {
		return e.TCP, nil
	})
	_, err := p.reg.Resolve(context.Background(), c)
	if !errors.Is(err, mimic.ErrCycle) || !errors.Is(err, mimic.ErrNotFound) {
		t.Fatalf("Resolve = %v, want ErrCycle and ErrNotFound", err)
	}
}
