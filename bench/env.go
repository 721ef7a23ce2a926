package bench

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/mirago/mirago/bench/gvnet"
	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/tcp"
)

// MTU is the IP MTU of every benchmark link (both stacks).
const MTU = 1500

// BufferSize is the TCP send and receive buffer of both stacks: mirago's
// default, and what gvnet configures gVisor with.
const BufferSize = gvnet.BufferSize

// Addresses of the client (A) and server (B) side of a pair.
var (
	prefixA = netip.MustParsePrefix("10.0.0.1/24")
	prefixB = netip.MustParsePrefix("10.0.0.2/24")
)

// Pair is two stacks of one kind in this process, joined by an in-memory
// link: A is the client, B the server.
type Pair interface {
	// Listen listens on B's port.
	Listen(port uint16) (net.Listener, error)
	// Dial connects from A to B's port.
	Dial(ctx context.Context, port uint16) (net.Conn, error)
	// Close tears both stacks and the link down.
	Close() error
}

// Stack names one of the stacks under comparison.
type Stack struct {
	Name    string
	NewPair func() (Pair, error)
}

// Stacks are the stacks compared, ours first.
var Stacks = []Stack{
	{Name: "mirago", NewPair: NewMiragoPair},
	{Name: "gvisor", NewPair: NewGVisorPair},
}

// NewGVisorPair returns two gVisor stacks on a gvnet.Link pair.
func NewGVisorPair() (Pair, error) { return gvnet.NewPair(MTU, prefixA, prefixB) }

// miragoPair is two mirago stacks on one drivers/memlink switch.
type miragoPair struct {
	sw    *memlink.Switch
	a, b  *stack.Stack
	addrB netip.Addr
}

// NewMiragoPair returns two mirago stacks on a drivers/memlink switch with
// default settings (256-frame rings, tail drop).
func NewMiragoPair() (Pair, error) {
	sw := memlink.NewSwitch(memlink.Config{})
	mk := func(mac inet.MAC, p netip.Prefix) (*stack.Stack, error) {
		pfx, err := inet.ParsePrefix4(p.String())
		if err != nil {
			return nil, err
		}
		return stack.New(sw.NewPort(mac, MTU), stack.Config{
			Addr: pfx,
			TCP:  tcp.Config{SendBuffer: BufferSize, RecvBuffer: BufferSize},
		})
	}
	a, err := mk(inet.MAC{2, 0, 0, 0, 0, 1}, prefixA)
	if err != nil {
		sw.Close()
		return nil, err
	}
	b, err := mk(inet.MAC{2, 0, 0, 0, 0, 2}, prefixB)
	if err != nil {
		a.Close()
		sw.Close()
		return nil, err
	}
	return &miragoPair{sw: sw, a: a, b: b, addrB: prefixB.Addr()}, nil
}

func (p *miragoPair) Listen(port uint16) (net.Listener, error) { return p.b.TCP().Listen(port) }

func (p *miragoPair) Dial(ctx context.Context, port uint16) (net.Conn, error) {
	c, err := p.a.TCP().Dial(ctx, netip.AddrPortFrom(p.addrB, port))
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Drops returns the frames the link dropped (full rings).
func (p *miragoPair) Drops() uint64 { return p.sw.Dropped() }

func (p *miragoPair) Close() error {
	p.a.Close()
	p.b.Close()
	p.sw.Close()
	return nil
}

// drops returns the frames p's link dropped, if it counts them.
func drops(p Pair) uint64 {
	if d, ok := p.(interface{ Drops() uint64 }); ok {
		return d.Drops()
	}
	return 0
}

// withPair runs f on a fresh pair of stack st.
func withPair(st Stack, f func(Pair) error) error {
	p, err := st.NewPair()
	if err != nil {
		return fmt.Errorf("%s: %w", st.Name, err)
	}
	defer p.Close()
	if err := f(p); err != nil {
		return fmt.Errorf("%s: %w", st.Name, err)
	}
	return nil
}
