//go:build tamago && !mirago_tls

package main

import (
	"context"
	"errors"
	"time"

	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/flow"
)

// An image built without the mirago_tls tag has no TLS termination and
// links no crypto: config.Validate refuses a [listener.NAME.tls] table
// (Options.TLS false), so newTLSTerm is never called.
const tlsBuilt = false

type tlsTerm struct{}

var errNoTLS = errors.New("TLS termination is not built into this image")

func newTLSTerm(*config.TLS, func() time.Time) (*tlsTerm, error) { return nil, errNoTLS }

func (t *tlsTerm) handshake(context.Context, flow.Flow, time.Duration) (flow.Flow, string, error) {
	return nil, "", errNoTLS
}
