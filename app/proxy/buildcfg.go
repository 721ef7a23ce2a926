package main

import (
	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/internal/buildcfg"
	"github.com/mirago/mirago/stack/inet"
)

// linkedConfig, when set, is the configuration linked into a bare-metal
// image: `make image APP=proxy CONFIG=FILE` turns FILE into Go source
// (app/proxy/cmd/proxyconf) that sets it, added to the build with
// -overlay, so the image carries the settings but no TOML parser.
var linkedConfig func() *config.File

// FileFromBuild returns a bare-metal image's configuration: the linked
// CONFIG file, or else one listener from the internal/buildcfg settings
// PORT, UPSTREAM (HOST:PORT,...), ALLOW and METRICS with the defaults for
// the rest. It is validated by New.
func FileFromBuild() (*config.File, error) {
	if linkedConfig != nil {
		return linkedConfig(), nil
	}
	c := DefaultConfig()
	var err error
	if c.Listen, err = inet.ParsePort("PORT", buildcfg.PORT); err != nil {
		return nil, err
	}
	c.Upstream = buildcfg.UPSTREAM
	if c.Allow, err = ParseAllow("ALLOW", buildcfg.ALLOW); err != nil {
		return nil, err
	}
	if buildcfg.METRICS != "" {
		if c.Metrics, err = inet.ParsePort("METRICS", buildcfg.METRICS); err != nil {
			return nil, err
		}
	}
	return c.File()
}
