//go:build linux

package bench

import (
	"context"
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
}

// tapSide is one stack on a TAP whose kernel side is configured.
type tapSide struct {
	listen func(port uint16) (net.Listener, error)
	dial   func(ctx context.Context, raddr netip.AddrPort) (net.Conn, error)
	close  func()
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

// newTAPSide puts stack kind on a fresh TAP. mirago uses drivers/tap (a
// read loop; on transmit a ring drained by a writer goroutine that merges
// consecutive TCP segments into one virtio-net GSO write, as a VM doing TSO
// would); gVisor uses its own fdbased endpoint on the TAP's file
// descriptor (readv dispatch, one writev per frame: fdbased offers GSO only
// on socket descriptors, not on a TAP; software checksums both ways).
func newTAPSide(kind string) (*tapSide, error) {
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
	switch kind {
	case "mirago":
		dev, err := tap.Open(name, tap.Options{MTU: MTU, SetMTU: true, BringUp: true})
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
			close:  func() { s.Close(); cleanup() },
			kernel: kernel, ours: ours.Addr(),
		}, nil
	case "gvisor":
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
		})
		if err != nil {
			unix.Close(fd)
			cleanup()
			return nil, err
		}
		s, err := gvnet.NewStack(ep, ours)
		if err != nil {
			unix.Close(fd)
			cleanup()
			return nil, err
		}
		return &tapSide{
			listen: s.Listen,
			dial:   s.Dial,
			close:  func() { s.Close(); unix.Close(fd); cleanup() },
			kernel: kernel, ours: ours.Addr(),
		}, nil
	}
	unlock()
	return nil, fmt.Errorf("unknown stack %q", kind)
}

// TAP measures, for stack kind on its own TAP, the kernel sending
// sz.TAPBytes to a sink on the stack (recv) and the stack sending as much
// to a sink in the kernel (send); both sinks run in this process, the
// kernel side through ordinary sockets. Each direction is timed from the
// first Write to the sink's last byte.
func TAP(kind string, sz Sizes) (TAPResult, error) {
	side, err := newTAPSide(kind)
	if err != nil {
		return TAPResult{}, err
	}
	defer side.close()
	g := newGuard(sz.Timeout)
	defer g.stop()
	ctx, cancel := context.WithTimeout(context.Background(), sz.Timeout)
	defer cancel()
	var res TAPResult

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
