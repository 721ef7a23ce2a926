// Package sysrand is the stack's one default source of randomness, used
// when a Config leaves Rand nil: crypto/rand on hosts, and nothing on
// tamago, where importing crypto/rand would link the Go FIPS module
// (~150 KB) into the image. Bare-metal programs pass their board's
// entropy source (qemuvirt.Rand, usbarmory.Rand) instead.
package sysrand

import (
	"errors"
	"io"
)

// ErrRequired is returned (wrapped with the caller's name) when no
// default exists and the caller passed no source.
var ErrRequired = errors.New("a random source is required on tamago (pass the board's entropy source)")

// Reader returns the default random source, or nil when the build has
// none (tamago).
func Reader() io.Reader { return reader }
