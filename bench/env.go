package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mirago/mirago/bench/gvnet"
	"github.com/mirago/mirago/bench/netns"
	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ndp"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/tcp"
)

// MTU is the IP MTU of every benchmark link (all stacks).
const MTU = 1500

// BufferSize is mirago's TCP send and receive buffer, and gVisor's in its
// fixed configurations.
const BufferSize = gvnet.BufferSize

// Addresses of the client (A) and server (B) side of a pair, and of an
// IPv6 pair (PairOptions.IPv6): a unique local prefix with A's and B's
// MACs' EUI-64 interface identifiers.
var (
	prefixA  = netip.MustParsePrefix("10.0.0.1/24")
	prefixB  = netip.MustParsePrefix("10.0.0.2/24")
	prefixA6 = netip.MustParsePrefix("fd00:b::ff:fe00:1/64")
	prefixB6 = netip.MustParsePrefix("fd00:b::ff:fe00:2/64")
)

// Pair is two stacks of one kind, joined by a link: A is the client, B the
// server.
type Pair interface {
	// Listen listens on B's port.
	Listen(port uint16) (net.Listener, error)
	// Dial connects from A to B's port.
	Dial(ctx context.Context, port uint16) (net.Conn, error)
	// Drops is the number of frames the link dropped so far.
	Drops() uint64
	// Retransmits is the number of TCP segments both ends retransmitted
	// so far.
	Retransmits() uint64
	// Close tears both stacks and the link down.
	Close() error
}

// Stack names.
const (
	Mirago = "mirago"
	GVisor = "gvisor"
	Linux  = "linux"
)

// StackNames are the stacks compared, ours first: the table's columns.
var StackNames = []string{Mirago, GVisor, Linux}

// PairOptions are what a test can ask of a new pair.
type PairOptions struct {
	// Capture, if set, sees every frame the link carries before the
	// receiving stack does (the kernel pair instead offers Capture on the
	// pair itself: see netns.Pair.Capture).
	Capture func(frame []byte)
	// IPv6 makes the pair talk IPv6 (prefixA6, prefixB6) instead of
	// IPv4: the workloads' IPv6 rows (bulk6, rr6).
	IPv6 bool
}

// Variant is one stack run in one configuration.
type Variant struct {
	Stack  string // Mirago, GVisor or Linux
	Config string // e.g. "memlink", "ring/fixed", "veth"
	// NewPair builds a fresh pair.
	NewPair func(PairOptions) (Pair, error)
	// Unavailable says why the variant cannot run here ("" if it can).
	Unavailable func() string
}

// Name is "stack config".
func (v Variant) Name() string { return v.Stack + " " + v.Config }

func (v Variant) unavailable() string {
	if v.Unavailable == nil {
		return ""
	}
	return v.Unavailable()
}

// Variants are the in-memory (and, for Linux, veth) variants, in run order:
// mirago without and with link offloads, every gVisor configuration
// (gvnet.Configs), the kernel.
var Variants = func() []Variant {
	vs := []Variant{
		{Stack: Mirago, Config: "memlink", NewPair: func(o PairOptions) (Pair, error) { return NewMiragoPair(o, false) }},
		{Stack: Mirago, Config: "memlink+offload", NewPair: func(o PairOptions) (Pair, error) { return NewMiragoPair(o, true) }},
	}
	for _, c := range gvnet.Configs {
		vs = append(vs, Variant{Stack: GVisor, Config: c.Name(), NewPair: func(o PairOptions) (Pair, error) {
			c := c
			c.Capture = o.Capture
			if o.IPv6 {
				return gvnet.NewPair(MTU, prefixA6, prefixB6, c)
			}
			return gvnet.NewPair(MTU, prefixA, prefixB, c)
		}})
	}
	vs = append(vs, Variant{Stack: Linux, Config: "veth", Unavailable: netns.Unavailable,
		NewPair: func(o PairOptions) (Pair, error) {
			if o.IPv6 {
				return nil, errNoIPv6Pair
			}
			return netns.NewPair()
		}})
	return vs
}()

// miragoPair is two mirago stacks on one drivers/memlink switch.
type miragoPair struct {
	sw    *memlink.Switch
	a, b  *stack.Stack
	addrB netip.Addr
}

// NewMiragoPair returns two mirago stacks on a drivers/memlink switch with
// default settings (256-frame rings, tail drop) and 256 KiB TCP buffers
// (mirago's default, made explicit). With offload the switch's ports offer
// checksum offload and TSO, as Linux's veth does (memlink.Config.Offload):
// TCP sends segments of up to 64 KiB, carried whole, and checksums are
// neither computed nor verified.
func NewMiragoPair(o PairOptions, offload bool) (Pair, error) {
	sw := memlink.NewSwitch(memlink.Config{Offload: offload})
	mk := func(mac inet.MAC, p netip.Prefix) (*stack.Stack, error) {
		pfx, err := inet.ParsePrefix4(p.String())
		if err != nil {
			return nil, err
		}
		var dev netif.Device = sw.NewPort(mac, MTU)
		if o.Capture != nil {
			dev = &captureDevice{Device: dev, f: o.Capture}
		}
		return stack.New(dev, stack.Config{
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
	p := &miragoPair{sw: sw, a: a, b: b, addrB: prefixB.Addr()}
	if o.IPv6 {
		for _, x := range []struct {
			s *stack.Stack
			p netip.Prefix
		}{{a, prefixA6}, {b, prefixB6}} {
			if err := addAddr6(x.s, x.p); err != nil {
				p.Close()
				return nil, err
			}
		}
		p.addrB = prefixB6.Addr()
	}
	return p, nil
}

// errNoIPv6Pair: the variant has no IPv6 pair (the kernel's namespaces
// are set up for IPv4 only; the IPv6 rows compare mirago with gVisor).
var errNoIPv6Pair = errors.New("no IPv6 pair for this stack")

// addAddr6 gives s the IPv6 address p, usable at once (a bench pair has
// nobody to collide with).
func addAddr6(s *stack.Stack, p netip.Prefix) error {
	s.Locker().Lock()
	defer s.Locker().Unlock()
	nd := s.LayersLocked().ND
	if nd == nil {
		return errors.New("mirago: IPv6 is off")
	}
	return nd.AddStatic(inet.Prefix6{Addr: inet.AddrFromNetip(p.Addr()), Bits: p.Bits()}, ndp.NoDAD)
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

// Retransmits returns the segments both TCP layers retransmitted.
func (p *miragoPair) Retransmits() uint64 {
	return tcpStats(p.a).Retransmits + tcpStats(p.b).Retransmits
}

// tcpStats reads s's TCP counters under the stack's lock.
func tcpStats(s *stack.Stack) tcp.Stats {
	l := s.Locker()
	l.Lock()
	defer l.Unlock()
	return s.LayersLocked().TCP.StatsLocked()
}

func (p *miragoPair) Close() error {
	p.a.Close()
	p.b.Close()
	p.sw.Close()
	return nil
}

// captureDevice hands every frame it receives to f before the stack's
// handler sees it.
type captureDevice struct {
	netif.Device
	f func([]byte)
}

func (d *captureDevice) SetHandler(h netif.Handler) {
	if h == nil {
		d.Device.SetHandler(nil)
		return
	}
	d.Device.SetHandler(func(frame []byte, meta netif.RxMeta) { d.f(frame); h(frame, meta) })
}

// RunStats are a pair's link and TCP counters after one run, and what the
// run has to say about how it was measured.
type RunStats struct {
	Drops       uint64 // frames dropped by the link
	Retransmits uint64 // TCP segments retransmitted, both ends
	Note        string // e.g. a limit that made the run smaller than asked
}

// countedPair is the pair a workload gets from withPair: markEnd takes its
// counters when the measured part ends, so that the teardown of the
// workload's connections (a burst of FINs, say) does not count.
type countedPair struct {
	Pair
	end  *RunStats
	note string
}

// markEnd records p's counters at the end of a measured part (the first
// call counts). Workloads call it before tearing their connections down.
func markEnd(p Pair) {
	if c, ok := p.(*countedPair); ok && c.end == nil {
		c.end = &RunStats{Drops: c.Drops(), Retransmits: c.Retransmits()}
	}
}

// noteRun attaches a note about how the run was measured.
func noteRun(p Pair, note string) {
	if c, ok := p.(*countedPair); ok {
		c.note = note
	}
}

// withPair runs f on a fresh pair of variant v and returns the pair's
// counters from its creation to the end of f's measured part (markEnd),
// or to f's return if f does not mark it.
func withPair(v Variant, f func(Pair) error) (RunStats, error) {
	return withPairOpts(v, PairOptions{}, f)
}

// withPairOpts is withPair on a pair made with o (an IPv6 pair).
func withPairOpts(v Variant, o PairOptions, f func(Pair) error) (RunStats, error) {
	if why := v.unavailable(); why != "" {
		return RunStats{}, fmt.Errorf("%s: unavailable: %s", v.Name(), why)
	}
	p, err := v.NewPair(o)
	if err != nil {
		return RunStats{}, fmt.Errorf("%s: %w", v.Name(), err)
	}
	defer p.Close()
	cp := &countedPair{Pair: p}
	err = f(cp)
	markEnd(cp)
	st := *cp.end
	st.Note = cp.note
	if err != nil {
		return st, fmt.Errorf("%s: %w", v.Name(), err)
	}
	return st, nil
}

// pairOf returns the pair under a countedPair.
func pairOf(p Pair) Pair {
	if c, ok := p.(*countedPair); ok {
		return c.Pair
	}
	return p
}

// kernelMemory returns the kernel's socket memory (netns.KernelSocketMemory)
// if p is the kernel pair, else ok is false.
func kernelMemory(p Pair) (uint64, bool) {
	if _, ok := pairOf(p).(*netns.Pair); !ok {
		return 0, false
	}
	v, err := netns.KernelSocketMemory()
	return v, err == nil
}

// needFiles makes room for n open files when p is the kernel pair (each
// kernel socket is a file descriptor of this process), as `ulimit -n`
// would; restore puts the old limit back.
func needFiles(p Pair, n int) (restore func(), err error) {
	if !isKernel(p) {
		return func() {}, nil
	}
	return netns.RaiseFileLimit(uint64(n))
}

// isKernel reports whether p is the Linux kernel pair.
func isKernel(p Pair) bool {
	_, ok := pairOf(p).(*netns.Pair)
	return ok
}

// abortClose closes c at once: a kernel socket with SO_LINGER 0 (a reset,
// and its buffers freed now) so that sockets closed with data still queued
// do not linger as orphans holding kernel memory into the next run; the
// in-process stacks' connections die with their pair anyway.
func abortClose(c net.Conn) {
	if l, ok := c.(interface{ SetLinger(int) error }); ok {
		l.SetLinger(0)
	}
	c.Close()
}

// maxKernelConns is how many kernel connections (two sockets, so two
// files, each) fit in this process's current open-file limit, leaving room
// for everything else, in whole thousands.
func maxKernelConns() int {
	n := (int(min(netns.FileLimit(), 1<<30)) - 2048) / 2
	return max(0, n/1000*1000)
}
