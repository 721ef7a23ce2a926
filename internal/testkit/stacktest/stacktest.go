// Package stacktest holds test helpers for the stack and the apps:
// stacks on an in-memory link, a recording port, the fault injector from
// a spec, deterministic data streams.
package stacktest

import (
	"testing"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// Pair returns two stacks with default settings on an in-memory switch
// (MTU 1500): a at 10.0.0.1/24 (MAC 02:00:00:00:00:01) and b at
// 10.0.0.2/24 (02:00:00:00:00:02). Both and the switch are closed when t
// ends.
func Pair(t testing.TB) (a, b *stack.Stack) { return PairWith(t, nil) }

// PairWith is Pair with each switch port passed through wrap (if not
// nil) before its stack is built on it: a fault injector, a recorder.
func PairWith(t testing.TB, wrap func(mac inet.MAC, port netif.Device) netif.Device) (a, b *stack.Stack) {
	t.Helper()
	return PairConfig(t, stack.Config{}, wrap)
}

// PairConfig is PairWith with both stacks built from cfg (its Addr is
// replaced by each stack's own).
func PairConfig(t testing.TB, cfg stack.Config, wrap func(mac inet.MAC, port netif.Device) netif.Device) (a, b *stack.Stack) {
	t.Helper()
	return PairSwitch(t, memlink.Config{}, cfg, wrap)
}

// PairSwitch is PairConfig on a switch configured with sw (offloads,
// queue sizes).
func PairSwitch(t testing.TB, sw memlink.Config, cfg stack.Config, wrap func(mac inet.MAC, port netif.Device) netif.Device) (a, b *stack.Stack) {
	t.Helper()
	return pairOn(t, memlink.NewSwitch(sw), cfg, wrap)
}

func pairOn(t testing.TB, sw *memlink.Switch, cfg stack.Config, wrap func(mac inet.MAC, port netif.Device) netif.Device) (a, b *stack.Stack) {
	t.Helper()
	t.Cleanup(func() { sw.Close() })
	mk := func(mac inet.MAC, addr string) *stack.Stack {
		p, err := inet.ParsePrefix4(addr)
		if err != nil {
			t.Fatal(err)
		}
		var dev netif.Device = sw.NewPort(mac, 1500)
		if wrap != nil {
			dev = wrap(mac, dev)
		}
		c := cfg
		c.Addr = p
		s, err := stack.New(dev, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return mk(inet.MAC{2, 0, 0, 0, 0, 1}, "10.0.0.1/24"), mk(inet.MAC{2, 0, 0, 0, 0, 2}, "10.0.0.2/24")
}
