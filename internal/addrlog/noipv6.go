//go:build mirago_noipv6

package addrlog

import (
	"context"

	"github.com/mirago/mirago/logging"
	"github.com/mirago/mirago/stack"
)

// Run returns at once: a build without IPv6 (IPV6=0) has no addresses to
// log.
func Run(context.Context, *stack.Stack, logging.Logger) {}
