//go:build !tamago || mirago_tls

package main

import (
	"context"
	"crypto/tls"
	"time"

	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/tlsflow"
)

// TLS termination: always on the host; in an image only when built with
// the mirago_tls tag (make image CONFIG=FILE sets it when FILE has a
// [listener.NAME.tls] table), so images without it link no crypto.
const tlsBuilt = true

// tlsTerm terminates TLS for a listener.
type tlsTerm struct {
	cfg *tls.Config
}

// newTLSTerm parses the certificate and key; now is TLS's wall clock.
func newTLSTerm(c *config.TLS, now func() time.Time) (*tlsTerm, error) {
	cert, err := tls.X509KeyPair(c.Cert, c.Key)
	if err != nil {
		return nil, err
	}
	return &tlsTerm{cfg: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, Time: now}}, nil
}

// handshake runs the server side of a TLS handshake over f within
// timeout and returns the TLS flow and the server name the client asked
// for ("" if none).
func (t *tlsTerm) handshake(ctx context.Context, f flow.Flow, timeout time.Duration) (flow.Flow, string, error) {
	s := tlsflow.Server(f, t.cfg)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.HandshakeContext(ctx); err != nil {
		return nil, "", err
	}
	return s, s.ConnectionState().ServerName, nil
}
