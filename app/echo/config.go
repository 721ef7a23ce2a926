package main

import (
	"errors"
	"strconv"

	"github.com/mirago/mirago/internal/buildcfg"
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
	port, err := parsePort("PORT", buildcfg.PORT)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{Port: port, Grace: DefaultGrace}
	if buildcfg.METRICS != "" {
		if cfg.Metrics, err = parsePort("METRICS", buildcfg.METRICS); err != nil {
			return Config{}, err
		}
	}
	return cfg, cfg.Validate()
}

// parsePort parses a TCP/UDP port setting named name.
func parsePort(name, s string) (uint16, error) {
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil || p == 0 {
		return 0, errors.New("bad " + name + " " + strconv.Quote(s) + ": want a port 1-65535")
	}
	return uint16(p), nil
}
