//go:build mirago_noipv6

package stack

import (
	"errors"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

// An image built with IPV6=0 (build tag mirago_noipv6): the stack has
// no IPv6 (none of ipv6, icmpv6, ndp and mld is linked); the IPv6
// settings are placeholders and an IPv6 address gets
// transport.ErrAddrFamily, as with Config.DisableIPv6. See ipv6.go.

// Placeholders for the IPv6 layers' settings (Config).
type (
	IPv6Config   struct{}
	ICMPv6Config struct{}
	// NDConfig keeps DisableSLAAC so that settings code builds either
	// way; it has no effect.
	NDConfig struct {
		DisableSLAAC bool
	}
	MLDConfig struct{}
)

// Layers6 and Stats6 are empty: no IPv6 layers.
type (
	Layers6 struct{}
	Stats6  struct{}
)

// MaxOwnPrefixes bounds OwnPrefixesLocked's prefixes: the IPv4 subnet.
const MaxOwnPrefixes = 1

// errNoIPv6Built is New's answer to IPv6 settings.
var errNoIPv6Built = errors.New("stack: IPv6 is not built into this image (IPV6=0); Addrs6 needs it")

func (s *Stack) newIPv6(cfg Config) error {
	if !cfg.DisableIPv6 && len(cfg.Addrs6) > 0 {
		return errNoIPv6Built
	}
	return nil
}

func (s *Stack) network6() transport.Network { return nil }
func (s *Stack) register6()                  {}
func (s *Stack) start6Locked(Config)         {}
func (s *Stack) stats6Locked(*Stats6)        {}
func (s *Stack) initPing6()                  {}

func (s *Stack) sendEcho6(inet.Addr, uint16, uint16, []byte) error { return transport.ErrAddrFamily }
func (s *Stack) reachable6Locked() bool                            { return false }
func (s *Stack) ours6Locked(inet.Addr) bool                        { return false }

func (s *Stack) prefixes6Locked(dst []inet.Prefix6) []inet.Prefix6 { return dst }

// SetMTU6 fails: no IPv6.
func (s *Stack) SetMTU6(int) error { return transport.ErrAddrFamily }
