//go:build tamago && !mirago_ntp

package boardrun

import (
	"io"

	"github.com/mirago/mirago/internal/buildcfg"
)

// startNTP: without the mirago_ntp tag there is no SNTP client, and NTP
// servers in the settings are an error (make image NTP=... sets both).
func (e *Env) startNTP(io.Reader) error {
	if buildcfg.NTP != "" {
		return buildcfg.ErrNoNTP
	}
	return nil
}
