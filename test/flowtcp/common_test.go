package flowtcp_test

import (
	"context"
	"crypto/tls"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/tlsflow"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/testcert"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/tcp"
)

// *tcp.Conn is a flow.
var _ flow.Flow = (*tcp.Conn)(nil)

// wait bounds every wait for something that must happen.
const wait = 10 * time.Second

// stacks is two stacks, A (10.0.0.1) and B (10.0.0.2), on one in-memory
// switch; they are closed when the test ends.
type stacks struct {
	a, b *stack.Stack
	port atomic.Uint32 // next listening port
	to   netip.Addr    // the address of B that A dials: addrB, or B's IPv6 one (over6)
}

func newStacks(t *testing.T) *stacks { return newImpairedStacks(t, "") }

// newImpairedStacks is newStacks with both links impaired by spec
// (drivers/impair syntax, e.g. "loss=0.02,reorder=0.02"), seeded per
// stack.
func newImpairedStacks(t *testing.T, spec string) *stacks {
	t.Helper()
	st := &stacks{}
	var cfg stack.Config
	if spec != "" {
		// A RST is never retransmitted (RFC 9293 §3.5.2): when the link
		// loses it, the end it was meant for learns of the reset only from
		// the answer to its next segment. An end with nothing to send
		// sends keepalive probes, as a user of a lossy network would turn
		// on; the reset cases of the proxy matrix rely on them.
		cfg.TCP.KeepAlive = true
		cfg.TCP.KeepIdle = 2 * time.Second
		cfg.TCP.KeepInterval = time.Second
	}
	st.a, st.b = stacktest.PairConfig(t, cfg, func(mac inet.MAC, d netif.Device) netif.Device {
		return stacktest.Impair(t, d, spec, uint64(mac[5]))
	})
	st.port.Store(1000)
	st.to = addrB
	return st
}

// addrB is stack B's IPv4 address.
var addrB = netip.MustParseAddr("10.0.0.2")

// over6 makes the stacks' connections IPv6 (each stack gets EUI-64
// link-local and fd00:6::/64 addresses; tcpPair dials B's global one).
func (st *stacks) over6(t *testing.T) *stacks {
	stacktest.Address6(t, st.a)
	_, g := stacktest.Address6(t, st.b)
	st.to = g.Netip()
	return st
}

// nextPort returns a port no earlier pair used.
func (st *stacks) nextPort() uint16 { return uint16(st.port.Add(1)) }

// tcpPair returns a connection dialled from A and the one B accepted for
// it, on a fresh port.
func (st *stacks) tcpPair(t *testing.T) (a, b *tcp.Conn) {
	t.Helper()
	port := st.nextPort()
	ln, err := st.b.TCP().Listen(port)
	if err != nil {
		t.Fatalf("Listen(%d): %v", port, err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	type accepted struct {
		c   *tcp.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.AcceptContext(ctx)
		ch <- accepted{c, err}
	}()
	a, err = st.a.TCP().Dial(ctx, netip.AddrPortFrom(st.to, port))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	r := <-ch
	if r.err != nil {
		a.Close()
		t.Fatalf("Accept: %v", r.err)
	}
	return a, r.c
}

// tlsPair returns a TLS client over a connection from A and the TLS
// server over B's end, both with the handshake done.
func (st *stacks) tlsPair(t *testing.T) (a, b *tlsflow.Conn) {
	t.Helper()
	ca, cb := st.tcpPair(t)
	scfg, ccfg := certs()
	c, s := tlsflow.Client(ca, ccfg), tlsflow.Server(cb, scfg)
	if err := handshake(c, s); err != nil {
		c.Close()
		s.Close()
		t.Fatal(err)
	}
	return c, s
}

// handshake runs both sides' handshakes at once.
func handshake(c, s interface {
	HandshakeContext(context.Context) error
}) error {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.HandshakeContext(ctx) }()
	cerr := c.HandshakeContext(ctx)
	serr := <-errc
	if cerr != nil {
		return cerr
	}
	return serr
}

// certs returns a server and a client TLS config that trust one
// self-signed certificate for serverName.
func certs() (server, client *tls.Config) { return testcert.Configs() }

// serverName is the name in the test certificate.
const serverName = testcert.ServerName
