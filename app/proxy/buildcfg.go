package main

import (
	"fmt"
	"strconv"

	"github.com/mirago/mirago/internal/buildcfg"
)

// ConfigFromBuild returns the proxy configuration linked into a
// bare-metal image (internal/buildcfg: PORT, UPSTREAM, ALLOW, METRICS), with the
// defaults for the rest, validated.
func ConfigFromBuild() (Config, error) {
	port, err := parsePort("PORT", buildcfg.PORT)
	if err != nil {
		return Config{}, err
	}
	cfg, err := NewConfig(port, buildcfg.UPSTREAM, buildcfg.ALLOW)
	if err != nil || buildcfg.METRICS == "" {
		return cfg, err
	}
	if cfg.Metrics, err = parsePort("METRICS", buildcfg.METRICS); err != nil {
		return Config{}, err
	}
	return cfg, cfg.Validate()
}

// NewConfig returns a validated configuration for the given listen port,
// upstream HOST:PORT and comma-separated allow list (as in -allow), with
// the defaults for the rest. Bare-metal mains use it with their link-time
// settings (internal/boardrun.Settings).
func NewConfig(listen uint16, upstream, allow string) (Config, error) {
	acl, err := ParseAllow(allow)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{
		Listen: listen, Upstream: upstream, Allow: acl,
		MaxConns: DefaultMaxConns, MaxPerClient: DefaultMaxPerClient,
		ConnectTimeout: DefaultConnectTimeout, IdleTimeout: DefaultIdleTimeout, Grace: DefaultGrace,
	}
	return cfg, cfg.Validate()
}

// parsePort parses a TCP port setting named name.
func parsePort(name, s string) (uint16, error) {
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil || p == 0 {
		return 0, fmt.Errorf("bad %s %q: want a port 1-65535", name, s)
	}
	return uint16(p), nil
}
