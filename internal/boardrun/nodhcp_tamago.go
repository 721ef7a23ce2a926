//go:build tamago && !mirago_dhcp

package boardrun

import (
	"errors"
	"io"
)

// errNoDHCP is what Start returns when the settings ask for DHCP but the
// image was built without the client.
var errNoDHCP = errors.New("boardrun: DHCP is not built into this image (make image DHCP=1)")

// startDHCP fails: the settings ask for DHCP, which this image lacks.
func (e *Env) startDHCP(io.Reader) error { return errNoDHCP }
