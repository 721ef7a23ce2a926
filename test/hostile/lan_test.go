package hostile

import (
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/impair"
	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/tcp"
)

// A real-time LAN of whole stacks on an in-memory switch, for the proxy
// and soak cases, where goroutines (flow.Proxy, clients) are part of what
// is tested.

type lan struct {
	t  testing.TB
	sw *memlink.Switch
}

func newLAN(t testing.TB) *lan {
	sw := memlink.NewSwitch(memlink.Config{RingSize: 1024})
	t.Cleanup(func() { sw.Close() })
	return &lan{t: t, sw: sw}
}

// node is one stack on the LAN; port is its switch port (for link down).
type node struct {
	s    *stack.Stack
	port *memlink.Port
	addr inet.Addr4
}

// add attaches a stack at 10.0.0.host/24, optionally behind a fault
// injector.
func (l *lan) add(host byte, cfg stack.Config, faults *impair.Spec) *node {
	l.t.Helper()
	port := l.sw.NewPort(inet.MAC{0x02, 0, 0, 0, 1, host}, 1500)
	var dev netif.Device = port
	if faults != nil {
		dev = impair.Wrap(port, *faults, clock.Real{})
	}
	a := inet.Addr4{10, 0, 0, host}
	cfg.Addr = inet.Prefix4{Addr: a, Bits: 24}
	s, err := stack.New(dev, cfg)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { s.Close() })
	return &node{s: s, port: port, addr: a}
}

// fastTCP shortens the timers that would otherwise keep state around for
// minutes of real time.
func fastTCP() tcp.Config {
	return tcp.Config{TimeWait: 200 * time.Millisecond, UserTimeout: 3 * time.Second, MinRTO: 20 * time.Millisecond,
		InitialRTO: 200 * time.Millisecond, MaxRTO: time.Second, SynRetries: 3, SynAckRetries: 3}
}

// openConns is the number of TCP connections in any state but LISTEN.
func openConns(s *stack.Stack) int {
	st := s.Stats().TCP
	n := 0
	for i, c := range st.States {
		if tcp.State(i) != tcp.Listen {
			n += c
		}
	}
	return n
}
