package bench

// The guest workload: mirago's qemu-virt echo image against what a user
// would run instead, a small Linux VM with an echo server (a stock Debian
// armmp kernel, busybox, the kernel's virtio modules and a static C echo
// server, built by bench/linuxguest/build.sh from Debian packages). Both
// run on the same QEMU virt machine under TCG with the same devices
// (virtio-net and virtio-rng over virtio-mmio), alternating, and are
// compared on: image bytes, boot time to the first echoed byte, TCP echo
// throughput through QEMU's user networking and over a TAP, the smallest
// -m that boots and echoes, and QEMU's resident memory.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mirago/mirago/internal/testkit/qemurun"
)

// Guest names: the columns of the guest rows.
const (
	GuestMirago = "mirago"
	GuestLinux  = "linux"
)

const (
	// guestMem is the RAM both guests get for the boot, echo and
	// resident-memory runs: room for Linux at its best (it runs in less,
	// see guest.min_ram), and the same for both.
	guestMem       = "256M"
	guestBootMax   = 90 * time.Second // QEMU start to the first echoed byte
	guestProbeWait = 20 * time.Millisecond
	// The smallest-RAM search: -m from guestMinLo (assumed too small) to
	// guestMinHi MiB (assumed enough, and checked), bisected to within
	// Sizes.GuestRAMStep MiB.
	guestMinLo = 2
	guestMinHi = 512
)

// GuestEnv is what the guest workload needs: the image environment and
// the Linux guest's kernel and initramfs.
type GuestEnv struct {
	Image  ImageEnv
	Kernel string // vmlinuz
	Initrd string // initrd.gz
}

// guestProbe finds the guest environment, or says why there is none; a
// variable so that tests can force the skip.
var guestProbe = ProbeGuestEnv

// ProbeGuestEnv returns the environment for the guest workload, building
// the Linux guest (cached in the user cache dir) if it is not built yet,
// or a reason it cannot run here: no TamaGo toolchain or QEMU (see
// ProbeImageEnv), or no way to get the Debian packages.
func ProbeGuestEnv() (GuestEnv, string) {
	env, why := imageProbe()
	if why != "" {
		return GuestEnv{}, why
	}
	cmd := exec.Command(filepath.Join(env.Root, "bench", "linuxguest", "build.sh"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		return GuestEnv{}, "the Linux guest " + strings.TrimSpace(lastLine(stderr.String()))
	case err != nil:
		return GuestEnv{}, fmt.Sprintf("bench/linuxguest/build.sh: %v\n%s", err, stderr.String())
	}
	dir := lastLine(string(out))
	g := GuestEnv{Image: env, Kernel: filepath.Join(dir, "vmlinuz"), Initrd: filepath.Join(dir, "initrd.gz")}
	for _, f := range []string{g.Kernel, g.Initrd} {
		if _, err := os.Stat(f); err != nil {
			return GuestEnv{}, fmt.Sprintf("bench/linuxguest/build.sh printed %s, which lacks %s", dir, filepath.Base(f))
		}
	}
	return g, ""
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// guestNet is how a guest is attached: QEMU user networking with a
// forwarded 127.0.0.1 port, or a TAP whose kernel side is 10.199.N.1.
type guestNet struct {
	fwdPort string // user networking: host port forwarded to the guest's 7
	tap     string // TAP: the device; the guest is 10.199.tapN.15/24
	tapN    int
}

// echoAddr is where the host reaches the guest's echo port.
func (n guestNet) echoAddr() string {
	if n.tap != "" {
		return fmt.Sprintf("10.199.%d.15:7", n.tapN)
	}
	return "127.0.0.1:" + n.fwdPort
}

// startGuest boots guest (GuestMirago with the image at image, or
// GuestLinux) with mem of RAM on net.
func startGuest(env GuestEnv, guest, image, mem string, n guestNet) (*qemurun.Guest, error) {
	if guest == GuestMirago {
		args := []string{"-m", mem}
		if n.tap != "" {
			args = append(args, "-tap", n.tap)
		} else {
			args = append(args, "-fwd", n.fwdPort+":7")
		}
		return qemurun.Start(env.Image.Root, image, imageBoard, args...)
	}
	netdev := "user,id=n0,hostfwd=tcp:127.0.0.1:" + n.fwdPort + "-10.0.2.15:7"
	cmdline := "console=ttyAMA0 quiet panic=1"
	if n.tap != "" {
		netdev = "tap,id=n0,ifname=" + n.tap + ",script=no,downscript=no"
		cmdline += fmt.Sprintf(" mirago.ip=10.199.%d.15/24 mirago.gw=10.199.%d.1", n.tapN, n.tapN)
	}
	// The same machine and devices as scripts/qemu.sh gives the image,
	// less what only tamago needs (secure=on, virtualization=on,
	// semihosting); -no-reboot turns a kernel panic (out of memory) into
	// QEMU exiting.
	return qemurun.StartCommand("qemu-system-arm", "-machine", "virt", "-cpu", "cortex-a15", "-m", mem,
		"-nographic", "-monitor", "none", "-no-reboot",
		"-kernel", env.Kernel, "-initrd", env.Initrd, "-append", cmdline,
		"-global", "virtio-mmio.force-legacy=false", "-device", "virtio-rng-device",
		"-device", "virtio-net-device,netdev=n0", "-netdev", netdev)
}

// firstEcho dials addr until one byte comes back, and returns when it
// did. A forwarded port accepts before the guest listens (then closes),
// so only an echoed byte counts.
func firstEcho(g *qemurun.Guest, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			var b [1]byte
			_, err = c.Write([]byte{'m'})
			if err == nil {
				_, err = io.ReadFull(c, b[:])
			}
			c.Close()
			if err == nil && b[0] == 'm' {
				return nil
			}
		}
		select {
		case <-g.Done():
			return fmt.Errorf("QEMU exited (%v) before echoing", g.Err())
		case <-time.After(guestProbeWait):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no echo within %v", timeout)
		}
	}
}

// qemuMemory reads VmRSS and VmHWM (bytes) of process pid.
func qemuMemory(pid int) (rss, hwm uint64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %q", k, v)
		}
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, errors.New("no VmRSS/VmHWM in /proc/" + strconv.Itoa(pid) + "/status")
	}
	return rss, hwm, sc.Err()
}

// guestRun is one boot of one guest: its boot time, echo throughput and
// QEMU's memory.
type guestRun struct {
	Boot     time.Duration
	Mbps     float64
	RSS, HWM uint64
}

// runGuest boots guest on n, times the first echoed byte, warms the echo
// up, measures a transfer of sz.ImageBytes and reads QEMU's memory.
func runGuest(env GuestEnv, guest, image string, n guestNet, sz Sizes) (guestRun, error) {
	var r guestRun
	start := time.Now()
	g, err := startGuest(env, guest, image, guestMem, n)
	if err != nil {
		return r, err
	}
	defer g.Stop()
	if err := firstEcho(g, n.echoAddr(), guestBootMax); err != nil {
		return r, fmt.Errorf("%w; console:\n%s", err, g.Console())
	}
	r.Boot = time.Since(start)
	if _, err := EchoThroughput(n.echoAddr(), min(sz.ImageBytes, imageWarm), sz.Timeout); err != nil {
		return r, fmt.Errorf("warm-up echo: %w", err)
	}
	e, err := EchoThroughput(n.echoAddr(), sz.ImageBytes, sz.Timeout)
	if err != nil {
		return r, fmt.Errorf("echo: %w", err)
	}
	r.Mbps = e.Mbps()
	r.RSS, r.HWM, err = qemuMemory(g.Pid())
	return r, err
}

// bootsAt reports whether guest boots and echoes 64 KiB with mem MiB of
// RAM (user networking).
func bootsAt(env GuestEnv, guest, image string, mem int) (bool, error) {
	port, err := qemurun.FreePort("tcp")
	if err != nil {
		return false, err
	}
	n := guestNet{fwdPort: port}
	g, err := startGuest(env, guest, image, strconv.Itoa(mem)+"M", n)
	if err != nil {
		return false, err
	}
	defer g.Stop()
	if firstEcho(g, n.echoAddr(), guestBootMax) != nil {
		return false, nil
	}
	_, err = EchoThroughput(n.echoAddr(), 64<<10, 30*time.Second)
	return err == nil, nil
}

// smallestRAM bisects the least -m (MiB) with which guest boots and
// echoes, to within step MiB: it returns a size that works, at most step
// above one that did not. It checks guestMinHi first.
func smallestRAM(env GuestEnv, guest, image string, step int, logf func(string, ...any)) (int, error) {
	lo, hi := guestMinLo, guestMinHi
	ok, err := bootsAt(env, guest, image, hi)
	if err != nil || !ok {
		return 0, fmt.Errorf("%s does not boot and echo in %d MiB (%v)", guest, hi, err)
	}
	for hi-lo > max(step, 1) {
		mid := (lo + hi) / 2
		ok, err := bootsAt(env, guest, image, mid)
		if err != nil {
			return 0, err
		}
		logf("guest %s: -m %dM: boots and echoes: %v", guest, mid, ok)
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}

// guestMetrics are the guest workload's rows, in report order: mirago's
// echo image (stack mirago, config "echo") against the Linux guest (stack
// linux, config "guest"), so the ratio is mirago/linux.
func guestMetrics() []*Metric {
	m := func(bench, unit string, better Better, target float64, note string) *Metric {
		mt := &Metric{Bench: bench, Unit: unit, Better: better, Note: note}
		if target > 0 {
			mt.Targets = []Target{{Vs: Linux, AtLeast: better == Higher, Value: target}}
		}
		return mt
	}
	return []*Metric{
		m("guest.image", "bytes", Lower, 0.5, "ELF vs vmlinuz+initrd.gz"),
		m("guest.boot", "s", Lower, 0.1, "QEMU start to first echoed byte"),
		m("guest.echo.user", "Mbit/s", Higher, 1.5, "TCP echo, QEMU user networking"),
		m("guest.echo.tap", "Mbit/s", Higher, 1.5, "TCP echo over a TAP"),
		m("guest.min_ram", "MiB", Lower, 0.5, "smallest -m that boots and echoes"),
		m("guest.rss", "MB", Lower, 0.5, "QEMU VmRSS after the echo, -m "+guestMem),
		m("guest.hwm", "MB", Lower, 0, "QEMU VmHWM"),
	}
}

// guestConfig is each guest's configuration name in the rows.
var guestConfig = map[string]string{GuestMirago: "echo", GuestLinux: "guest"}

// runGuests is the guest workload. Each repetition boots each guest
// twice, alternating (user networking, then a TAP when root and
// /dev/net/tun are there); the smallest RAM is searched once per guest.
func runGuests(o Options) ([]*Metric, error) {
	ms := guestMetrics()
	env, why := guestProbe()
	if why != "" {
		o.logf("guest: skipped: %s", why)
		for i := range ms {
			ms[i].Note = "skipped: " + why
		}
		return ms, nil
	}
	dir, err := os.MkdirTemp("", "mirago-bench-guest-")
	if err != nil {
		return ms, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), imageBuildMax)
	image, err := buildEchoImage(ctx, env.Image, dir)
	cancel()
	if err != nil {
		return ms, err
	}
	add := func(i int, guest string, v float64) { ms[i].Add(guest, guestConfig[guest], Sample{Value: v}) }
	var imageBytes, linuxBytes int64
	if s, err := SizeOf(image); err == nil {
		imageBytes = s.File
		add(0, GuestMirago, float64(s.File))
	}
	for _, f := range []string{env.Kernel, env.Initrd} {
		if st, err := os.Stat(f); err == nil {
			linuxBytes += st.Size()
		}
	}
	add(0, GuestLinux, float64(linuxBytes))
	o.logf("guest: image %s %d bytes, linux %s + %s %d bytes", image, imageBytes, env.Kernel, env.Initrd, linuxBytes)

	tapWhy := TAPUnavailable()
	if tapWhy != "" {
		ms[3].Note = "skipped: " + tapWhy
	}
	var errs []error
	reps := max(o.Sizes.Reps, 1)
	for rep := range reps {
		for _, guest := range []string{GuestMirago, GuestLinux} {
			port, err := qemurun.FreePort("tcp")
			if err != nil {
				return ms, err
			}
			r, err := runGuest(env, guest, image, guestNet{fwdPort: port}, o.Sizes)
			if err != nil {
				errs = append(errs, fmt.Errorf("guest %s (user networking): %w", guest, err))
				continue
			}
			o.logf("guest %s (run %d/%d, user networking): first echo after %v, echo %.2f Mbit/s, QEMU VmRSS %d MB VmHWM %d MB",
				guest, rep+1, reps, r.Boot.Round(timeRound), r.Mbps, r.RSS/1e6, r.HWM/1e6)
			add(1, guest, r.Boot.Seconds())
			add(2, guest, r.Mbps)
			add(5, guest, float64(r.RSS)/1e6)
			add(6, guest, float64(r.HWM)/1e6)
			if tapWhy != "" {
				continue
			}
			r, err = runGuestTAP(env, guest, image, o.Sizes)
			if err != nil {
				errs = append(errs, fmt.Errorf("guest %s (TAP): %w", guest, err))
				continue
			}
			o.logf("guest %s (run %d/%d, TAP): echo %.2f Mbit/s", guest, rep+1, reps, r.Mbps)
			add(3, guest, r.Mbps)
		}
	}
	for _, guest := range []string{GuestMirago, GuestLinux} {
		mib, err := smallestRAM(env, guest, image, o.Sizes.GuestRAMStep, o.logf)
		if err != nil {
			errs = append(errs, fmt.Errorf("guest %s smallest RAM: %w", guest, err))
			continue
		}
		o.logf("guest %s: smallest -m that boots and echoes: %d MiB (to within %d)", guest, mib, o.Sizes.GuestRAMStep)
		add(4, guest, float64(mib))
	}
	return ms, errors.Join(errs...)
}
