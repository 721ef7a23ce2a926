//go:build tamago

package sysrand

import "io"

// No default on bare metal: see the package comment.
var reader io.Reader
