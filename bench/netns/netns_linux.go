//go:build linux

// Package netns runs the Linux kernel's own TCP as a benchmark peer: two
// network namespaces created for the run, joined by a veth pair (MTU 1500,
// the veth driver's default offloads), with ordinary kernel sockets in
// each. A Pair implements the same Listen/Dial contract as bench's
// in-memory stack pairs, so the same workloads run on it unchanged.
//
// Sockets belong to the namespace of the thread that creates them, so a
// Pair creates each socket on a goroutine locked to a thread that has
// joined the namespace, and returns the thread to the process's own
// namespace as soon as the socket exists (Dial does it in the dialer's
// Control hook, before connect), so that no connection waits on a locked
// thread. A thread that cannot return is never reused: its goroutine exits
// still locked, and the Go runtime ends the thread.
package netns

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Unavailable says why a Pair cannot be built here, or "".
func Unavailable() string {
	if os.Geteuid() != 0 {
		return "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create network namespaces"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "needs ip (iproute2) on PATH"
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return "needs network namespace support (/proc/self/ns/net)"
	}
	return ""
}

// Addresses of the client (A) and server (B) inside their namespaces. The
// namespaces are private to the Pair, so these never meet another
// interface.
var (
	AddrA = netip.MustParsePrefix("10.0.0.1/24")
	AddrB = netip.MustParsePrefix("10.0.0.2/24")
)

// seq makes namespace and interface names unique within the process; the
// process id makes them unique on the machine.
var seq atomic.Uint64

// Namespace is one network namespace of a Pair.
type Namespace struct {
	Name string // under /run/netns (ip netns)
	Veth string // its end of the veth pair
	fd   int    // open /run/netns/Name
	root int    // the process's own namespace
}

// Pair is two namespaces, A (client) and B (server), joined by a veth
// pair.
type Pair struct {
	A, B  *Namespace
	root  int
	once  sync.Once
	addrB netip.Addr
	// backlog0 is the machine's softnet backlog drop count when the pair
	// was made: veth hands frames to the receiving CPU's backlog, and a
	// full backlog drops them there, not in the veth's own counters.
	backlog0 uint64
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// NewPair creates the two namespaces and the veth pair between them:
// namespace A holds AddrA, B holds AddrB, both with loopback up and IPv6
// off (so that no router solicitation or DAD shares the link). Close
// removes them.
func NewPair() (_ *Pair, err error) {
	if why := Unavailable(); why != "" {
		return nil, errors.New("netns: " + why)
	}
	n := seq.Add(1)
	id := fmt.Sprintf("%d-%d", os.Getpid(), n)
	p := &Pair{
		A:     &Namespace{Name: "mrgk" + id + "a", Veth: fmt.Sprintf("mkv%da", n)},
		B:     &Namespace{Name: "mrgk" + id + "b", Veth: fmt.Sprintf("mkv%db", n)},
		root:  -1,
		addrB: AddrB.Addr(),
	}
	p.A.fd, p.B.fd = -1, -1
	p.backlog0, _ = BacklogDrops()
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.root, err = unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		return nil, fmt.Errorf("netns: open own namespace: %w", err)
	}
	for _, ns := range []*Namespace{p.A, p.B} {
		ns.root = p.root
		if err := ipCmd("netns", "add", ns.Name); err != nil {
			return nil, err
		}
		if ns.fd, err = unix.Open("/run/netns/"+ns.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			return nil, fmt.Errorf("netns: open %s: %w", ns.Name, err)
		}
	}
	if err := ipCmd("link", "add", p.A.Veth, "netns", p.A.Name, "type", "veth", "peer", "name", p.B.Veth, "netns", p.B.Name); err != nil {
		return nil, err
	}
	for _, x := range []struct {
		ns   *Namespace
		addr netip.Prefix
	}{{p.A, AddrA}, {p.B, AddrB}} {
		if err := x.ns.Do(func() error {
			for _, f := range []string{"all", "default", "lo"} {
				os.WriteFile("/proc/sys/net/ipv6/conf/"+f+"/disable_ipv6", []byte("1"), 0o644)
			}
			return nil
		}); err != nil {
			return nil, err
		}
		for _, args := range [][]string{
			{"-n", x.ns.Name, "link", "set", "lo", "up"},
			{"-n", x.ns.Name, "addr", "add", x.addr.String(), "dev", x.ns.Veth},
			{"-n", x.ns.Name, "link", "set", x.ns.Veth, "mtu", "1500", "up"},
		} {
			if err := ipCmd(args...); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// Do runs f on a thread that has joined ns, and returns the thread to the
// process's namespace afterwards (or, if that fails, lets the thread end).
// Sockets f creates stay in ns; files under /proc/sys/net and
// /proc/thread-self/net that f opens are ns's.
func (ns *Namespace) Do(f func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("netns: join %s: %w", ns.Name, err)
			return
		}
		err := f()
		if rerr := unix.Setns(ns.root, unix.CLONE_NEWNET); rerr == nil {
			runtime.UnlockOSThread()
		} else if err == nil {
			err = fmt.Errorf("netns: leave %s: %w", ns.Name, rerr) // the thread ends with this goroutine
		}
		ch <- err
	}()
	return <-ch
}

// Listen listens on port in B.
func (p *Pair) Listen(port uint16) (net.Listener, error) {
	var ln net.Listener
	err := p.B.Do(func() (err error) {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(p.addrB, port).String())
		return err
	})
	return ln, err
}

// Dial connects from A to B's port with net.Dialer. The socket is created
// in A; the thread leaves A before connect, so the connection is made and
// used like any other kernel socket of this process.
func (p *Pair) Dial(ctx context.Context, port uint16) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(p.A.fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, fmt.Errorf("netns: join %s: %w", p.A.Name, err)}
			return
		}
		left := false
		d := net.Dialer{Control: func(_, _ string, _ syscall.RawConn) error {
			// The socket exists (in A): back to our own namespace.
			if err := unix.Setns(p.root, unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("netns: leave %s: %w", p.A.Name, err)
			}
			left = true
			runtime.UnlockOSThread()
			return nil
		}}
		c, err := d.DialContext(ctx, "tcp4", netip.AddrPortFrom(p.addrB, port).String())
		if !left {
			if rerr := unix.Setns(p.root, unix.CLONE_NEWNET); rerr != nil {
				if c != nil {
					c.Close()
				}
				ch <- result{nil, fmt.Errorf("netns: leave %s: %w", p.A.Name, rerr)}
				return // still locked: the thread ends with this goroutine
			}
			runtime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// Counters are kernel counters of one namespace.
type Counters struct {
	RetransSegs uint64 // /proc/net/snmp Tcp RetransSegs
	VethDrops   uint64 // /proc/net/dev drop columns (receive + transmit) of the veth
}

// Counters reads ns's counters.
func (ns *Namespace) Counters() (Counters, error) {
	var c Counters
	err := ns.Do(func() error {
		snmp, err := os.ReadFile("/proc/thread-self/net/snmp")
		if err != nil {
			return err
		}
		if c.RetransSegs, err = snmpField(snmp, "Tcp", "RetransSegs"); err != nil {
			return err
		}
		dev, err := os.ReadFile("/proc/thread-self/net/dev")
		if err != nil {
			return err
		}
		c.VethDrops, err = devDrops(dev, ns.Veth)
		return err
	})
	return c, err
}

// snmpField finds field in the two-line table proto of /proc/net/snmp.
func snmpField(snmp []byte, proto, field string) (uint64, error) {
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(snmp))
	for sc.Scan() {
		k, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != proto {
			continue
		}
		if names == nil {
			names = strings.Fields(rest)
			continue
		}
		vals := strings.Fields(rest)
		for i, n := range names {
			if n == field && i < len(vals) {
				return strconv.ParseUint(vals[i], 10, 64)
			}
		}
		break
	}
	return 0, fmt.Errorf("netns: no %s %s in /proc/net/snmp", proto, field)
}

// devDrops sums the receive and transmit drop columns of iface in
// /proc/net/dev.
func devDrops(dev []byte, iface string) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(dev))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) != iface {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 12 {
			break
		}
		rx, err1 := strconv.ParseUint(f[3], 10, 64)
		tx, err2 := strconv.ParseUint(f[11], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return 0, err
		}
		return rx + tx, nil
	}
	return 0, fmt.Errorf("netns: no %s in /proc/net/dev", iface)
}

// Drops returns the frames the veth pair dropped (both ends, both ways)
// plus the frames the machine's receive backlogs dropped since the pair
// was made (machine-wide, but a veth pair is what fills a backlog here).
// Errors read as zero; Counters and BacklogDrops report them.
func (p *Pair) Drops() uint64 {
	a, _ := p.A.Counters()
	b, _ := p.B.Counters()
	n, _ := BacklogDrops()
	return a.VethDrops + b.VethDrops + n - min(n, p.backlog0)
}

// BacklogDrops sums the dropped column of /proc/net/softnet_stat over the
// CPUs: frames dropped because a CPU's receive backlog
// (net.core.netdev_max_backlog) was full.
func BacklogDrops() (uint64, error) {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		return 0, err
	}
	var total uint64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseUint(f[1], 16, 64)
		if err != nil {
			return 0, fmt.Errorf("netns: /proc/net/softnet_stat: %w", err)
		}
		total += n
	}
	return total, nil
}

// Retransmits returns the TCP segments both namespaces retransmitted.
func (p *Pair) Retransmits() uint64 {
	a, _ := p.A.Counters()
	b, _ := p.B.Counters()
	return a.RetransSegs + b.RetransSegs
}

// Close removes the namespaces (which removes the veth pair and every
// socket left in them once closed).
func (p *Pair) Close() error {
	var errs []error
	p.once.Do(func() {
		for _, ns := range []*Namespace{p.A, p.B} {
			if ns.fd >= 0 {
				unix.Close(ns.fd)
			}
			if err := exec.Command("ip", "netns", "del", ns.Name).Run(); err != nil {
				if _, serr := os.Stat("/run/netns/" + ns.Name); serr == nil {
					errs = append(errs, fmt.Errorf("ip netns del %s: %w", ns.Name, err))
				}
			}
		}
		if p.root >= 0 {
			unix.Close(p.root)
		}
	})
	return errors.Join(errs...)
}
