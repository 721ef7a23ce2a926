//go:build linux

package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/link/tun"

	"github.com/mirago/mirago/bench/gvnet"
	"github.com/mirago/mirago/drivers/tap"
	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/tcp"
)

// TAPUnavailable says why the TAP workload cannot run here, or "".
func TAPUnavailable() string {
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return "needs /dev/net/tun (TAP support)"
	}
	if os.Geteuid() != 0 {
		return "needs root (CAP_NET_ADMIN) to create a TAP device"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "needs ip (iproute2) on PATH"
	}
	return ""
}

// TAPResult is the throughput between the Linux kernel and one stack.
type TAPResult struct {
	RecvGbps float64 // kernel -> stack sink
	SendGbps float64 // stack -> kernel sink
	// Stats: frames dropped on the TAP (the kernel's tx/rx drop counters of
	// the interface plus the stack's device drops) and TCP retransmissions
	// (the stack's own plus the kernel's RetransSegs in this process's
	// namespace, which is machine-wide).
	Stats RunStats
}

// TAP configurations.
const (
	tapOffload    = "offload"        // mirago: drivers/tap default (virtio-net header: checksum offload and TSO both ways)
	tapNoTSO      = "notso"          // mirago: drivers/tap NoTSO (checksum offload; frames of at most the MTU)
	tapPlain      = "plain"          // mirago: drivers/tap PlainFrames (no virtio-net header, software checksums)
	tapFdbased    = "fdbased"        // gVisor: link/fdbased, readv dispatch, no GRO
	tapFdbasedGRO = "fdbased+gro"    // gVisor: link/fdbased with GRO
	tapFixed      = "/" + "fixed"    // gVisor TCP: gvnet.TCPFixed
	tapDefaults   = "/" + "defaults" // gVisor TCP: gvnet.TCPDefaults
)

// TAPVariants are the stacks and configurations the TAP workload runs:
// mirago on drivers/tap with its offloads, without TSO and with plain
// frames; gVisor on its fdbased endpoint with and without GRO, each with
// both TCP tunings.
var TAPVariants = func() []Variant {
	vs := []Variant{
		{Stack: Mirago, Config: tapOffload, Unavailable: TAPUnavailable},
		{Stack: Mirago, Config: tapNoTSO, Unavailable: TAPUnavailable},
		{Stack: Mirago, Config: tapPlain, Unavailable: TAPUnavailable},
	}
	for _, l := range []string{tapFdbased, tapFdbasedGRO} {
		for _, t := range []string{tapFixed, tapDefaults} {
			vs = append(vs, Variant{Stack: GVisor, Config: l + t, Unavailable: TAPUnavailable})
		}
	}
	return vs
}()

// tapSide is one stack on a TAP whose kernel side is configured.
type tapSide struct {
	listen func(port uint16) (net.Listener, error)
	dial   func(ctx context.Context, raddr netip.AddrPort) (net.Conn, error)
	stats  func() RunStats // the stack's own drops and retransmissions
	close  func()
	name   string     // the TAP interface
	kernel netip.Addr // the kernel's address on the TAP
	ours   netip.Addr
}

// allocateSubnet reserves a test subnet the same way internal/testkit/taptest
// does, so that the benchmark never shares one with a running test.
func allocateSubnet() (int, func(), error) { return taptest.Reserve() }

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// configureKernel gives the kernel side of TAP name the address
// 10.199.n.1/24, MTU 1500, no IPv6, and brings it up.
func configureKernel(name string, n int) error {
	os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", []byte("1"), 0o644)
	if err := run("ip", "link", "set", "dev", name, "mtu", strconv.Itoa(MTU), "up"); err != nil {
		return err
	}
	return run("ip", "addr", "add", fmt.Sprintf("10.199.%d.1/24", n), "dev", name)
}

// newTAPSide puts variant v on a fresh TAP. mirago uses drivers/tap: by
// default with a virtio-net header and the kernel's checksum offload and
// TSO both ways (segments of up to 64 KiB, no checksum computed), with
// NoTSO checksum offload only, with PlainFrames neither. gVisor uses its
// own fdbased endpoint on the TAP's file descriptor (readv dispatch, one
// writev per frame: fdbased offers GSO and TX checksum offload only on
// socket descriptors, not on a TAP; RX checksum offload on, as runsc has
// it; GRO in the "+gro" configurations).
func newTAPSide(v Variant) (*tapSide, error) {
	n, unlock, err := allocateSubnet()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("mrgb%d_%d", n, os.Getpid()%10000)
	kernel := netip.MustParseAddr(fmt.Sprintf("10.199.%d.1", n))
	ours := netip.MustParsePrefix(fmt.Sprintf("10.199.%d.15/24", n))
	cleanup := func() {
		exec.Command("ip", "link", "del", name).Run()
		unlock()
	}
	switch v.Stack {
	case Mirago:
		dev, err := tap.Open(name, tap.Options{MTU: MTU, SetMTU: true, BringUp: true,
			PlainFrames: v.Config == tapPlain, NoTSO: v.Config == tapNoTSO})
		if err != nil {
			cleanup()
			return nil, err
		}
		if err := configureKernel(name, n); err != nil {
			dev.Close()
			cleanup()
			return nil, err
		}
		pfx, _ := inet.ParsePrefix4(ours.String())
		s, err := stack.New(dev, stack.Config{Addr: pfx, TCP: tcp.Config{SendBuffer: BufferSize, RecvBuffer: BufferSize}})
		if err != nil {
			dev.Close()
			cleanup()
			return nil, err
		}
		return &tapSide{
			listen: func(port uint16) (net.Listener, error) { return s.TCP().Listen(port) },
			dial: func(ctx context.Context, raddr netip.AddrPort) (net.Conn, error) {
				c, err := s.TCP().Dial(ctx, raddr)
				if err != nil {
					return nil, err
				}
				return c, nil
			},
			stats: func() RunStats {
				ds := dev.Stats()
				return RunStats{Drops: ds.RxDropped + ds.TxDropped, Retransmits: tcpStats(s).Retransmits}
			},
			close: func() { s.Close(); cleanup() },
			name:  name, kernel: kernel, ours: ours.Addr(),
		}, nil
	case GVisor:
		tc := gvnet.TCPFixed
		if strings.HasSuffix(v.Config, tapDefaults) {
			tc = gvnet.TCPDefaults
		}
		fd, err := tun.OpenTAP(name)
		if err != nil {
			unlock()
			return nil, fmt.Errorf("open TAP %s: %w", name, err)
		}
		if err := configureKernel(name, n); err != nil {
			unix.Close(fd)
			cleanup()
			return nil, err
		}
		ep, err := fdbased.New(&fdbased.Options{
			FDs:            []int{fd},
			MTU:            MTU,
			EthernetHeader: true,
			Address:        "\x02\x00\x00\x00\x02\x0f",
			GRO:            strings.HasPrefix(v.Config, tapFdbasedGRO),
			// runsc's default (--rx-checksum-offload): the kernel hands a
			// TAP only frames with their checksums complete. TX checksum
			// offload needs a virtio-net header, which fdbased writes only
			// to sockets.
			RXChecksumOffload: true,
		})
		if err != nil {
			unix.Close(fd)
			cleanup()
			return nil, err
		}
		s, err := gvnet.NewStack(ep, ours, tc)
		if err != nil {
			unix.Close(fd)
			cleanup()
			return nil, err
		}
		return &tapSide{
			listen: s.Listen,
			dial:   s.Dial,
			stats:  func() RunStats { return RunStats{Drops: s.NICDrops(), Retransmits: s.Retransmits()} },
			close:  func() { s.Close(); unix.Close(fd); cleanup() },
			name:   name, kernel: kernel, ours: ours.Addr(),
		}, nil
	}
	unlock()
	return nil, fmt.Errorf("no TAP configuration for %s", v.Name())
}

// kernelTAPStats returns the kernel's drop counters of TAP name (frames it
// could not queue to the stack, or dropped from it) and its TCP
// RetransSegs (this process's namespace).
func kernelTAPStats(name string) RunStats {
	var st RunStats
	for _, f := range []string{"tx_dropped", "rx_dropped"} {
		b, err := os.ReadFile("/sys/class/net/" + name + "/statistics/" + f)
		if err == nil {
			n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
			st.Drops += n
		}
	}
	if b, err := os.ReadFile("/proc/net/snmp"); err == nil {
		st.Retransmits = snmpRetrans(b)
	}
	return st
}

// snmpRetrans reads Tcp RetransSegs from /proc/net/snmp (0 if absent).
func snmpRetrans(snmp []byte) uint64 {
	var names []string
	for _, line := range strings.Split(string(snmp), "\n") {
		k, rest, ok := strings.Cut(line, ":")
		if !ok || k != "Tcp" {
			continue
		}
		if names == nil {
			names = strings.Fields(rest)
			continue
		}
		vals := strings.Fields(rest)
		for i, n := range names {
			if n == "RetransSegs" && i < len(vals) {
				v, _ := strconv.ParseUint(vals[i], 10, 64)
				return v
			}
		}
	}
	return 0
}

// TAP measures, for variant v on its own TAP, the kernel sending
// sz.TAPBytes to a sink on the stack (recv) and the stack sending as much
// to a sink in the kernel (send); both sinks run in this process, the
// kernel side through ordinary sockets. Each direction is timed from the
// first Write to the sink's last byte.
func TAP(v Variant, sz Sizes) (res TAPResult, err error) {
	if why := TAPUnavailable(); why != "" {
		return res, errors.New("TAP " + why)
	}
	side, err := newTAPSide(v)
	if err != nil {
		return TAPResult{}, err
	}
	defer side.close()
	k0 := kernelTAPStats(side.name)
	defer func() {
		k1 := kernelTAPStats(side.name)
		own := side.stats()
		res.Stats = RunStats{
			Drops:       own.Drops + k1.Drops - k0.Drops,
			Retransmits: own.Retransmits + k1.Retransmits - k0.Retransmits,
		}
	}()
	g := newGuard(sz.Timeout)
	defer g.stop()
	ctx, cancel := context.WithTimeout(context.Background(), sz.Timeout)
	defer cancel()

	// Kernel -> stack.
	ln, err := side.listen(portBulk)
	if err != nil {
		return res, err
	}
	defer ln.Close()
	g.add(ln)
	accepted := acceptOne(ln)
	var d net.Dialer
	kc, err := d.DialContext(ctx, "tcp4", netip.AddrPortFrom(side.ours, portBulk).String())
	if err != nil {
		return res, fmt.Errorf("kernel dial: %w", err)
	}
	defer kc.Close()
	var a acceptResult
	select {
	case a = <-accepted:
	case <-ctx.Done():
		return res, errTimeout
	}
	if a.err != nil {
		return res, a.err
	}
	defer a.c.Close()
	el, err := transfer(kc, a.c, sz, g)
	if err != nil {
		return res, fmt.Errorf("kernel->stack: %w", err)
	}
	res.RecvGbps = float64(sz.TAPBytes) * 8 / el.Seconds() / 1e9

	// Stack -> kernel.
	kl, err := net.Listen("tcp4", netip.AddrPortFrom(side.kernel, 0).String())
	if err != nil {
		return res, err
	}
	defer kl.Close()
	g.add(kl)
	kaccepted := acceptOne(kl)
	sc, err := side.dial(ctx, netip.MustParseAddrPort(kl.Addr().String()))
	if err != nil {
		return res, fmt.Errorf("stack dial: %w", err)
	}
	defer sc.Close()
	select {
	case a = <-kaccepted:
	case <-ctx.Done():
		return res, errTimeout
	}
	if a.err != nil {
		return res, a.err
	}
	defer a.c.Close()
	el, err = transfer(sc, a.c, sz, g)
	if err != nil {
		return res, fmt.Errorf("stack->kernel: %w", err)
	}
	res.SendGbps = float64(sz.TAPBytes) * 8 / el.Seconds() / 1e9
	return res, nil
}

// transfer writes sz.TAPBytes to w in sz.WriteSize writes while a sink
// reads them from r, and returns the time from the first write to the last
// byte read.
func transfer(w, r net.Conn, sz Sizes, g *guard) (time.Duration, error) {
	g.add(w)
	g.add(r)
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, sz.WriteSize)
		var err error
		var n int64
		for err == nil && n < sz.TAPBytes {
			var m int
			m, err = r.Read(buf)
			n += int64(m)
		}
		if n >= sz.TAPBytes {
			err = nil
		}
		done <- err
	}()
	buf := make([]byte, sz.WriteSize)
	t0 := time.Now()
	for left := sz.TAPBytes; left > 0; {
		m := int(min(int64(len(buf)), left))
		if _, err := w.Write(buf[:m]); err != nil {
			return 0, fmt.Errorf("write: %w", g.err(err))
		}
		left -= int64(m)
	}
	if err := <-done; err != nil {
		return 0, fmt.Errorf("sink: %w", g.err(err))
	}
	return time.Since(t0), nil
}
