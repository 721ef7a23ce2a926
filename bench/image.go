package bench

// The image workload: the qemu-virt echo appliance built on mirago
// (app/echo, `make image APP=echo BOARD=qemu-virt`) and on gVisor's
// netstack (bench/image/gvecho, the same services on the same board and
// virtio-net driver), plus bench/image/miecho, which is gvecho's main with
// mirago's stack, so that one size ratio compares the stacks alone. Each
// image's size is read from its ELF; then each is booted under QEMU
// (scripts/qemu.sh, user networking, one forwarded port on 127.0.0.1) and
// a host client pushes Sizes.ImageBytes through its TCP echo.

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mirago/mirago/internal/testkit/qemurun"
)

// Image names the images the workload builds. Echo and GVEcho are the
// ones the brief compares (the echo app on each stack); MiEcho is GVEcho's
// program on mirago's stack.
const (
	ImageEcho   = "echo"   // app/echo via make image (mirago)
	ImageGVEcho = "gvecho" // bench/image/gvecho (gVisor netstack)
	ImageMiEcho = "miecho" // bench/image/miecho (mirago, gvecho's app)
)

const (
	imageBoard    = "qemu-virt"
	imageTag      = "qemuvirt,linkcpuinit"
	imageLDFlags  = "-T 0x40101000 -R 0x1000" // mk/baremetal.mk for qemu-virt (board/qemu-virt/layout.go)
	imageEchoPort = "7"
	imageBuildMax = 4 * time.Minute
	imageReadyMax = 30 * time.Second // boot to the first echo
	imageWarm     = 2 << 20          // unmeasured echo after boot
	// imageMem is the guest RAM for both stacks' images: gvecho's
	// image alone loads 36 MB (gVisor's tables are in its bss), past the
	// 32 MiB that scripts/qemu.sh gives a qemu-virt image by default.
	imageMem = "512M"
)

// imageOf is the image whose echo throughput stands for each stack.
var imageOf = map[string]string{"mirago": ImageEcho, "gvisor": ImageGVEcho}

// ImageEnv is what building and booting the images needs.
type ImageEnv struct {
	Root   string // module root (holds mk/baremetal.mk, scripts/qemu.sh)
	Tamago string // the tamago command (go tool -n .../cmd/tamago)
}

// imageProbe finds the image environment, or says why there is none. A
// variable so that tests can force the skip.
var imageProbe = ProbeImageEnv

// ProbeImageEnv returns the environment for the image workload, or a
// reason it cannot run here: no module root, no TamaGo toolchain, no
// qemu-system-arm, or no make.
func ProbeImageEnv() (ImageEnv, string) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := string(bytes.TrimSpace(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return ImageEnv{}, fmt.Sprintf("cannot find the module root (go env GOMOD: %q, %v)", gomod, err)
	}
	root := filepath.Dir(gomod)
	for _, f := range []string{"mk/baremetal.mk", "scripts/qemu.sh", "bench/image/gvecho/main.go", "bench/image/miecho/main.go"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			return ImageEnv{}, fmt.Sprintf("%s not found under %s", f, root)
		}
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/usbarmory/tamago")
	cmd.Dir = root
	v, err := cmd.Output()
	if err != nil {
		return ImageEnv{}, fmt.Sprintf("go list -m github.com/usbarmory/tamago: %v", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return ImageEnv{}, fmt.Sprintf("no user cache dir for the TamaGo toolchain: %v", err)
	}
	tc := filepath.Join(cache, "tamago-go", "tamago-go"+strings.TrimPrefix(strings.TrimSpace(string(v)), "v"))
	if _, err := os.Stat(filepath.Join(tc, "bin", "go")); err != nil {
		return ImageEnv{}, fmt.Sprintf("TamaGo toolchain not found at %s (see make tamago-check)", tc)
	}
	if _, err := exec.LookPath("qemu-system-arm"); err != nil {
		return ImageEnv{}, "qemu-system-arm not found (apt-get install qemu-system-arm)"
	}
	if _, err := exec.LookPath("make"); err != nil {
		return ImageEnv{}, "make not found"
	}
	cmd = exec.Command("go", "tool", "-n", "github.com/usbarmory/tamago/cmd/tamago")
	cmd.Dir = root
	t, err := cmd.Output()
	if err != nil {
		return ImageEnv{}, fmt.Sprintf("go tool -n github.com/usbarmory/tamago/cmd/tamago: %v", err)
	}
	return ImageEnv{Root: root, Tamago: string(bytes.TrimSpace(t))}, ""
}

// BuildImages builds the three images into dir and returns their paths
// by name (ImageEcho, ImageGVEcho, ImageMiEcho). All use the default
// network settings of internal/buildcfg (10.0.2.15/24 via 10.0.2.2, port
// 7), which suit QEMU user networking.
func BuildImages(ctx context.Context, env ImageEnv, dir string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, imageBuildMax)
	defer cancel()
	paths := map[string]string{}
	echo, err := buildEchoImage(ctx, env, dir)
	if err != nil {
		return nil, err
	}
	paths[ImageEcho] = echo
	// gvecho and miecho with the same toolchain, tag and link flags.
	for _, name := range []string{ImageGVEcho, ImageMiEcho} {
		p := filepath.Join(dir, name+"-"+imageBoard+".elf")
		cmd := exec.CommandContext(ctx, env.Tamago, "build", "-tags", imageTag, "-trimpath",
			"-ldflags", imageLDFlags, "-o", p, "./bench/image/"+name)
		cmd.Dir = env.Root
		cmd.Env = append(os.Environ(), "GOOS=tamago", "GOOSPKG=github.com/usbarmory/tamago", "GOARCH=arm", "GOARM=7")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("tamago build ./bench/image/%s: %v\n%s", name, err, b)
		}
		paths[name] = p
	}
	return paths, nil
}

// buildEchoImage builds app/echo exactly as `make image` does, into
// dir/echo, with further make settings (IP=..., GW=...) if given, and
// returns its path.
func buildEchoImage(ctx context.Context, env ImageEnv, dir string, settings ...string) (string, error) {
	args := append([]string{"-s", "-f", "mk/baremetal.mk", "image",
		"APP=echo", "BOARD=" + imageBoard, "OUT=" + filepath.Join(dir, ImageEcho), "PORT=" + imageEchoPort}, settings...)
	cmd := exec.CommandContext(ctx, "make", args...)
	cmd.Dir = env.Root
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("make image APP=echo: %v\n%s", err, b)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	p := lines[len(lines)-1]
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("make image APP=echo: last line %q is not the image\n%s", p, b)
	}
	return p, nil
}

// ImageSize is the size of an ELF image.
type ImageSize struct {
	File   int64 // the .elf file (os.Stat), debug sections included
	Loaded int64 // bytes loaded into memory: allocated sections with contents (text, rodata, pclntab, data)
}

// SizeOf reads the sizes of the ELF file at path.
func SizeOf(path string) (ImageSize, error) {
	st, err := os.Stat(path)
	if err != nil {
		return ImageSize{}, err
	}
	f, err := elf.Open(path)
	if err != nil {
		return ImageSize{}, err
	}
	defer f.Close()
	s := ImageSize{File: st.Size()}
	for _, sec := range f.Sections {
		if sec.Flags&elf.SHF_ALLOC != 0 && sec.Type != elf.SHT_NOBITS {
			s.Loaded += int64(sec.Size)
		}
	}
	return s, nil
}

// Guest is one QEMU run of an image, serving echo on a forwarded port.
type Guest struct {
	*qemurun.Guest
	Addr string // host side of the forwarded echo port: 127.0.0.1:N
}

// BootImage boots image under scripts/qemu.sh (-m imageMem) with user networking and a
// free 127.0.0.1 port forwarded to the guest's echo port, and returns once
// a small echo has come back whole (the console's "echo serving" can come
// before the listener answers, and a forwarded port accepts before the
// guest does).
func BootImage(env ImageEnv, image string) (*Guest, error) {
	port, err := qemurun.FreePort("tcp")
	if err != nil {
		return nil, err
	}
	q, err := qemurun.Start(env.Root, image, imageBoard, "-m", imageMem, "-fwd", port+":"+imageEchoPort)
	if err != nil {
		return nil, err
	}
	g := &Guest{Guest: q, Addr: "127.0.0.1:" + port}
	probe := []byte("mirago image probe\n")
	deadline := time.Now().Add(imageReadyMax)
	for {
		if strings.Contains(g.Console(), "echo serving") {
			got, err := qemurun.Exchange(g.Addr, probe, 3*time.Second)
			if err == nil && bytes.Equal(got, probe) {
				return g, nil
			}
		}
		select {
		case <-g.Done():
			return nil, fmt.Errorf("QEMU exited (%v) before echoing; console:\n%s", g.Err(), g.Console())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			g.Stop()
			return nil, fmt.Errorf("no echo from %s within %v; console:\n%s", image, imageReadyMax, g.Console())
		}
	}
}

// EchoResult is one transfer through a guest's TCP echo.
type EchoResult struct {
	Bytes   int64
	Elapsed time.Duration
}

// Mbps is the echo goodput in Mbit/s: bytes sent (each also came back)
// over the time from dial to the last byte read.
func (r EchoResult) Mbps() float64 { return float64(r.Bytes) * 8 / r.Elapsed.Seconds() / 1e6 }

// EchoThroughput dials addr, writes n pseudo-random bytes in 128 KiB
// writes while reading concurrently, half-closes, and reads until EOF; the
// bytes read must equal the bytes written. timeout bounds the whole
// transfer.
func EchoThroughput(addr string, n int64, timeout time.Duration) (EchoResult, error) {
	data := make([]byte, n)
	var x uint32 = 2463534242
	for i := range data {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		data[i] = byte(x)
	}
	t0 := time.Now()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return EchoResult{}, err
	}
	defer c.Close()
	c.SetDeadline(t0.Add(timeout))
	werr := make(chan error, 1)
	go func() {
		for off := int64(0); off < n; off += 128 << 10 {
			if _, err := c.Write(data[off:min(off+128<<10, n)]); err != nil {
				werr <- err
				return
			}
		}
		werr <- c.(*net.TCPConn).CloseWrite()
	}()
	buf := make([]byte, 128<<10)
	var got int64
	for {
		m, err := c.Read(buf)
		if m > 0 {
			if got+int64(m) > n || !bytes.Equal(buf[:m], data[got:got+int64(m)]) {
				return EchoResult{}, fmt.Errorf("echo differs from what was sent after %d bytes", got)
			}
			got += int64(m)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return EchoResult{}, fmt.Errorf("read after %d of %d bytes: %w", got, n, err)
		}
	}
	elapsed := time.Since(t0)
	if err := <-werr; err != nil {
		return EchoResult{}, fmt.Errorf("write: %w", err)
	}
	if got != n {
		return EchoResult{}, fmt.Errorf("echo ended after %d of %d bytes", got, n)
	}
	return EchoResult{Bytes: n, Elapsed: elapsed}, nil
}

// imageMetrics are the image workload's rows, in report order.
func imageMetrics() []*Metric {
	half := []Target{{Vs: GVisor, Value: 0.5}}
	return []*Metric{
		{Bench: "image.size", Unit: "bytes", Better: Lower, Targets: half,
			Note: "ELF file: app/echo vs bench/image/gvecho"},
		{Bench: "image.loaded", Unit: "bytes", Better: Lower, Targets: half,
			Note: "text+rodata+data sections"},
		{Bench: "image.size.same_app", Unit: "bytes", Better: Lower, Targets: half,
			Note: "ELF file: bench/image/miecho vs gvecho"},
		{Bench: "image.loaded.same_app", Unit: "bytes", Better: Lower, Targets: half,
			Note: "miecho vs gvecho, text+rodata+data"},
		{Bench: "image.echo", Unit: "Mbit/s", Better: Higher, Note: "TCP echo under QEMU TCG, app/echo vs gvecho"},
	}
}

// runImage is the image workload: build, size, boot, measure. Values of
// a stage that fails stay unset (and the error says why); a missing
// toolchain or QEMU marks every row skipped, with no error.
func runImage(o Options) ([]*Metric, error) {
	ms := imageMetrics()
	env, why := imageProbe()
	if why != "" {
		o.logf("image: skipped: %s", why)
		for i := range ms {
			ms[i].Note = "skipped: " + why
		}
		return ms, nil
	}
	dir, err := os.MkdirTemp("", "mirago-bench-image-")
	if err != nil {
		return ms, err
	}
	defer os.RemoveAll(dir)
	t0 := time.Now()
	paths, err := BuildImages(context.Background(), env, dir)
	if err != nil {
		return ms, err
	}
	o.logf("image: built %s, %s and %s in %v", ImageEcho, ImageGVEcho, ImageMiEcho, time.Since(t0).Round(timeRound))
	sizes := map[string]ImageSize{}
	for name, p := range paths {
		if sizes[name], err = SizeOf(p); err != nil {
			return ms, fmt.Errorf("%s: %w", name, err)
		}
		o.logf("image: %s: %d bytes (%d loaded)", name, sizes[name].File, sizes[name].Loaded)
	}
	set := func(i int, mi, gv string, f func(ImageSize) int64) {
		ms[i].Add(Mirago, mi, Sample{Value: float64(f(sizes[mi]))})
		ms[i].Add(GVisor, gv, Sample{Value: float64(f(sizes[gv]))})
	}
	file := func(s ImageSize) int64 { return s.File }
	loaded := func(s ImageSize) int64 { return s.Loaded }
	set(0, ImageEcho, ImageGVEcho, file)
	set(1, ImageEcho, ImageGVEcho, loaded)
	set(2, ImageMiEcho, ImageGVEcho, file)
	set(3, ImageMiEcho, ImageGVEcho, loaded)

	// Throughput: boot both images (an idle guest sleeps in WFI), warm
	// each up with an unmeasured transfer (TCG translates the hot paths on
	// first use), then alternate the stacks for Reps transfers and report
	// the median, as the other workloads do.
	var errs []error
	guests := map[string]*Guest{}
	stacks := []string{}
	for _, st := range []string{Mirago, GVisor} {
		if o.stackSelected(st) {
			stacks = append(stacks, st)
		}
	}
	for _, st := range stacks {
		name := imageOf[st]
		g, err := BootImage(env, paths[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("boot %s: %w", name, err))
			continue
		}
		defer g.Stop()
		if _, err := EchoThroughput(g.Addr, min(o.Sizes.ImageBytes, imageWarm), o.Sizes.Timeout); err != nil {
			errs = append(errs, fmt.Errorf("warm-up echo through %s: %w", name, err))
			continue
		}
		guests[st] = g
	}
	reps := max(o.Sizes.Reps, 1)
	for rep := range reps {
		for _, st := range stacks {
			g := guests[st]
			if g == nil {
				continue
			}
			r, err := EchoThroughput(g.Addr, o.Sizes.ImageBytes, o.Sizes.Timeout)
			if err != nil {
				errs = append(errs, fmt.Errorf("echo through %s: %w", imageOf[st], err))
				delete(guests, st)
				continue
			}
			o.logf("image %s (run %d/%d): %d KiB echoed by %s in %v: %.2f Mbit/s",
				st, rep+1, reps, r.Bytes>>10, imageOf[st], r.Elapsed.Round(timeRound), r.Mbps())
			ms[4].Add(st, imageOf[st], Sample{Value: r.Mbps()})
		}
	}
	return ms, errors.Join(errs...)
}
