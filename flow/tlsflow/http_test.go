package tlsflow_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/flowtest"
	"github.com/mirago/mirago/flow/tlsflow"
	"github.com/mirago/mirago/internal/testkit/testcert"
)

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

// The server is net/http's own TLS; the client dials a tlsflow.Conn over
// the in-memory listener.
func TestHTTPSWithClient(t *testing.T) {
	flowtest.CheckGoroutines(t)
	scfg, ccfg := testcert.Configs()
	l := flow.NewListener(flow.Addr{Name: "web:443"})
	srv := &http.Server{Handler: flowtest.HTTPHandler(), TLSConfig: scfg}
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
	flowtest.ServeHTTP(t, srv, func() error { return srv.ServeTLS(l, "", "") }, tr)
	flowtest.ExerciseHTTP(t, &http.Client{Transport: tr}, "https", true)
}

// The server runs over tlsflow.Conn; the client is net/http's own TLS over
// in-memory flows. (net/http only sees *tls.Conn as TLS, so r.TLS is nil.)
func TestHTTPSWithServer(t *testing.T) {
	flowtest.CheckGoroutines(t)
	scfg, ccfg := testcert.Configs()
	l := flow.NewListener(flow.Addr{Name: "web:443"})
	srv := &http.Server{Handler: flowtest.HTTPHandler()}
	tr := &http.Transport{DialContext: l.DialContext, TLSClientConfig: ccfg}
	flowtest.ServeHTTP(t, srv, func() error { return srv.Serve(tlsListener{l, scfg}) }, tr)
	flowtest.ExerciseHTTP(t, &http.Client{Transport: tr}, "https", false)
}
