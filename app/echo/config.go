package main

import (
	"errors"
	"strconv"

	"github.com/mirago/mirago/internal/buildcfg"
	"github.com/mirago/mirago/stack/inet"
)

// Validate checks c before it is used.
func (c *Config) Validate() error {
	if c.Port == 0 {
		return errors.New("bad -port: want 1-65535")
	}
	if c.Grace < 0 {
		return errors.New("bad -grace " + c.Grace.String() + ": want 0 or a positive duration")
	}
	if c.Metrics != 0 && !metricsBuilt {
		return buildcfg.ErrNoMetrics
	}
	if c.Metrics != 0 && c.Metrics == c.Port {
		return errors.New("bad -metrics " + strconv.Itoa(int(c.Metrics)) + ": same port as -port")
	}
	return nil
}

// ConfigFromBuild returns the echo configuration linked into a bare-metal
// image (internal/buildcfg PORT and METRICS), with the default grace
// period.
func ConfigFromBuild() (Config, error) {
	port, err := inet.ParsePort("PORT", buildcfg.PORT)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{Port: port, Grace: DefaultGrace}
	if buildcfg.METRICS != "" {
		if cfg.Metrics, err = inet.ParsePort("METRICS", buildcfg.METRICS); err != nil {
			return Config{}, err
		}
	}
	return cfg, cfg.Validate()
}
