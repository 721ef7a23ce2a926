package main

import (
	"context"
	"strings"

	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/flow/mimic"
)

// poolKey is the mimic key of the pool that serves a connection.
var poolKey = mimic.NewKey[*pool]("proxy.pool")

// router chooses a listener's pool by TLS server name, through mimic: a
// connection's context binds mimic.ServerName (read from its ClientHello,
// or from the TLS handshake when we terminate), and the pool is derived
// from it. A name routed exactly wins; then the longest "*.domain" that
// the name is under (at any depth); then the listener's default pool,
// which also serves clients that send no name.
type router struct {
	ctx  mimic.Ctx
	dflt *pool
}

func newRouter(routes []config.Route, pools map[string]*pool, dflt *pool) *router {
	exact, wild := map[string]*pool{}, map[string]*pool{}
	for _, r := range routes {
		if d, ok := strings.CutPrefix(r.Name, "*."); ok {
			wild[d] = pools[r.Pool]
		} else {
			exact[r.Name] = pools[r.Pool]
		}
	}
	pick := func(_ context.Context, name mimic.Option[string]) (*pool, error) {
		if !name.OK {
			return dflt, nil
		}
		if p := exact[name.Value]; p != nil {
			return p, nil
		}
		for s := name.Value; ; {
			i := strings.IndexByte(s, '.')
			if i < 0 {
				return dflt, nil
			}
			s = s[i+1:]
			if p := wild[s]; p != nil {
				return p, nil
			}
		}
	}
	return &router{ctx: mimic.Derive1(mimic.Ctx{}, poolKey, mimic.Opt(mimic.ServerName), pick), dflt: dflt}
}

// route returns the pool for a server name ("" for none).
func (r *router) route(name string) *pool {
	c := r.ctx
	if name != "" {
		c = mimic.With(c, mimic.ServerName, name)
	}
	p, err := mimic.Value(context.Background(), c, poolKey)
	if err != nil || p == nil {
		return r.dflt
	}
	return p
}
