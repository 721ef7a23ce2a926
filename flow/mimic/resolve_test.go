package mimic_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"testing"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/flowtest"
	"github.com/mirago/mirago/flow/mimic"
	"github.com/mirago/mirago/flow/tlsflow"
	"github.com/mirago/mirago/internal/testkit/testcert"
)

// tlsEdn is the endpoint of the TLS-over-memory protocol.
type tlsEdn struct {
	l   *flow.Listener
	cfg *tls.Config
}

// protocols is a registry with an in-memory protocol and TLS over it, and
// the keys a context needs for each.
type protocols struct {
	reg      *mimic.Registry
	mem      mimic.Key[*flow.Listener]
	tls      mimic.Key[tlsEdn]
	tlsCfg   mimic.Key[*tls.Config]
	memProto *mimic.Protocol
}

func newProtocols(tlsFirst bool) *protocols {
	p := &protocols{reg: new(mimic.Registry), tlsCfg: mimic.NewKey[*tls.Config]("tls-config")}
	regMem := func() {
		p.mem, p.memProto = mimic.Register(p.reg, "mem", 10, func(ctx context.Context, l *flow.Listener) (flow.Flow, error) {
			return l.Dial(ctx)
		})
	}
	regTLS := func() {
		p.tls, _ = mimic.Register(p.reg, "tls", 0, func(ctx context.Context, e tlsEdn) (flow.Flow, error) {
			f, err := e.l.Dial(ctx)
			if err != nil {
				return nil, err
			}
			t := tlsflow.Client(f, e.cfg)
			if err := t.HandshakeContext(ctx); err != nil {
				t.Close()
				return nil, err
			}
			return t, nil
		})
	}
	if tlsFirst {
		regTLS()
		regMem()
	} else {
		regMem()
		regTLS()
	}
	return p
}

// withTLS adds the derivation of the TLS endpoint from the memory
// endpoint and a TLS config, as an application would.
func (p *protocols) withTLS(c mimic.Ctx) mimic.Ctx {
	return mimic.Derive2(c, p.tls, mimic.Req(p.mem), mimic.Req(p.tlsCfg),
		func(_ context.Context, l *flow.Listener, cfg *tls.Config) (tlsEdn, error) {
			return tlsEdn{l, cfg}, nil
		})
}

// echoServer accepts one connection on a new listener and echoes it, over
// TLS if cfg is set.
func echoServer(t *testing.T, cfg *tls.Config) *flow.Listener {
	l := flow.NewListener(nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := l.AcceptFlow()
		if err != nil {
			return
		}
		if cfg != nil {
			f = tlsflow.Server(f, cfg)
		}
		defer f.Close()
		flow.Forward(context.Background(), f, f, flow.Options{})
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return l
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

func TestResolveMemory(t *testing.T) {
	flowtest.CheckGoroutines(t)
	p := newProtocols(false)
	l := echoServer(t, nil)
	c := p.withTLS(mimic.With(mimic.Ctx{}, p.mem, l))
	f, err := p.reg.Resolve(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if _, isTLS := f.(*tlsflow.Conn); isTLS {
		t.Fatal("resolved TLS without a TLS config")
	}
	checkEcho(t, f)
}

// With a TLS config both protocols apply; TLS has the lower priority
// value and wins whatever the registration order.
func TestResolveTLSByPriority(t *testing.T) {
	for _, tlsFirst := range []bool{false, true} {
		flowtest.CheckGoroutines(t)
		scfg, ccfg := testcert.Configs()
		p := newProtocols(tlsFirst)
		l := echoServer(t, scfg)
		c := p.withTLS(mimic.With(mimic.With(mimic.Ctx{}, p.mem, l), p.tlsCfg, ccfg))
		ps, err := p.reg.Applicable(context.Background(), c)
		if err != nil || len(ps) != 2 || ps[0].Name() != "tls" || ps[1].Name() != "mem" {
			t.Fatalf("Applicable = %v, %v; want [tls mem]", ps, err)
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
		checkEcho(t, f)
	}
}

func TestResolveNotFound(t *testing.T) {
	p := newProtocols(false)
	_, err := p.reg.Resolve(context.Background(), p.withTLS(mimic.Ctx{}))
	if !errors.Is(err, mimic.ErrNotFound) {
		t.Fatalf("Resolve(empty) = %v, want ErrNotFound", err)
	}
	_, err = new(mimic.Registry).Resolve(context.Background(), mimic.Ctx{})
	if !errors.Is(err, mimic.ErrNotFound) {
		t.Fatalf("Resolve on an empty registry = %v, want ErrNotFound", err)
	}
}

func TestResolveCycle(t *testing.T) {
	p := newProtocols(false)
	// The listener is derived from itself: nothing applies, and the
	// cycle is reported.
	c := mimic.Derive1(mimic.Ctx{}, p.mem, mimic.Req(p.mem), func(_ context.Context, l *flow.Listener) (*flow.Listener, error) {
		return l, nil
	})
	_, err := p.reg.Resolve(context.Background(), c)
	if !errors.Is(err, mimic.ErrCycle) || !errors.Is(err, mimic.ErrNotFound) {
		t.Fatalf("Resolve = %v, want ErrCycle and ErrNotFound", err)
	}
}

// A failing connect falls through to the next applicable protocol; when
// all fail, the ConnectErrors say which and why.
func TestResolveConnectFailure(t *testing.T) {
	flowtest.CheckGoroutines(t)
	refused := errors.New("refused")
	p := newProtocols(false)
	broken, _ := mimic.Register(p.reg, "broken", -5, func(context.Context, int) (flow.Flow, error) {
		return nil, refused
	})
	l := echoServer(t, nil)
	c := mimic.With(mimic.With(mimic.Ctx{}, broken, 1), p.mem, l)
	f, err := p.reg.Resolve(context.Background(), c)
	if err != nil {
		t.Fatalf("Resolve with a fallback: %v", err)
	}
	checkEcho(t, f)

	closed := flow.NewListener(nil)
	closed.Close()
	_, err = p.reg.Resolve(context.Background(), mimic.With(mimic.With(mimic.Ctx{}, broken, 1), p.mem, closed))
	var ce *mimic.ConnectError
	if !errors.As(err, &ce) || ce.Protocol != "broken" || !errors.Is(err, refused) || !errors.Is(err, flow.ErrRefused) {
		t.Fatalf("Resolve with all failing = %v; want ConnectErrors for broken (refused) then mem (ErrRefused)", err)
	}
}

func TestResolveCancelled(t *testing.T) {
	p := newProtocols(false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.reg.Resolve(ctx, mimic.With(mimic.Ctx{}, p.mem, flow.NewListener(nil)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Resolve with a cancelled context = %v", err)
	}
}
