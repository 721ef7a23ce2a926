// Command armprof profiles the qemu-virt echo image on the board: it
// builds the image with the board's sampling profiler (make image PROF=1,
// board/qemu-virt/prof.go), boots it under QEMU (TCG, user networking),
// pushes TCP echo traffic through it, and prints where the guest CPU went
// while the traffic ran, by function, from the PCs the guest printed,
// symbolised against the ELF.
//
//	go run ./bench/cmd/armprof [-tap] [-duration 30s] [-conns 1] [-top 40] [-image ELF] [-console FILE]
//
// -tap (root) attaches the guest to a TAP (10.199.N.15, the kernel side
// 10.199.N.1) instead of user networking, whose slirp leaves the guest
// mostly idle.
// With -console it only symbolises a console log saved earlier (and
// needs -image). The guest prints a histogram every 10 s; the ones that
// began and ended while traffic ran are added up.
package main

import (
	"bufio"
	"context"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mirago/mirago/bench"
	"github.com/mirago/mirago/internal/testkit/qemurun"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

func main() {
	duration := flag.Duration("duration", 30*time.Second, "how long to push echo traffic (at least two 10 s histograms)")
	conns := flag.Int("conns", 1, "echo connections at once")
	top := flag.Int("top", 40, "functions to list")
	image := flag.String("image", "", "a PROF=1 image to boot (default: build one)")
	console := flag.String("console", "", "symbolise this saved console log instead of booting (needs -image)")
	mem := flag.String("m", "256M", "guest RAM")
	useTAP := flag.Bool("tap", false, "attach the guest to a TAP (needs root) instead of user networking")
	flag.Parse()
	if err := run(*duration, *conns, *top, *image, *console, *mem, *useTAP); err != nil {
		fmt.Fprintln(os.Stderr, "armprof:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, conns, top int, image, console, mem string, useTAP bool) error {
	if console != "" {
		if image == "" {
			return errors.New("-console needs -image")
		}
		b, err := os.ReadFile(console)
		if err != nil {
			return err
		}
		return report(image, string(b), top)
	}
	env, why := bench.ProbeImageEnv()
	if why != "" {
		return errors.New(why)
	}
	var tapName string
	var settings []string
	addr := ""
	if useTAP {
		n, release, err := taptest.Reserve()
		if err != nil {
			return err
		}
		defer release()
		tapName = fmt.Sprintf("map%d_%d", n, os.Getpid()%10000)
		for _, args := range [][]string{
			{"tuntap", "add", "dev", tapName, "mode", "tap"},
			{"addr", "add", fmt.Sprintf("10.199.%d.1/24", n), "dev", tapName},
			{"link", "set", tapName, "up"},
		} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
			}
		}
		defer exec.Command("ip", "link", "del", tapName).Run()
		settings = []string{fmt.Sprintf("IP=10.199.%d.15/24", n), fmt.Sprintf("GW=10.199.%d.1", n)}
		addr = fmt.Sprintf("10.199.%d.15:7", n)
		if image != "" {
			return errors.New("-tap builds its own image (the address is linked in); leave out -image")
		}
	}
	if image == "" {
		dir, err := os.MkdirTemp("", "armprof-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		args := append([]string{"-s", "-f", "mk/baremetal.mk", "image", "APP=echo", "BOARD=qemu-virt", "PROF=1", "OUT=" + dir}, settings...)
		cmd := exec.Command("make", args...)
		cmd.Dir = env.Root
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("make image PROF=1: %v", err)
		}
		image = strings.TrimSpace(string(out))
		image = image[strings.LastIndexByte(image, '\n')+1:]
	}
	qargs := []string{"-m", mem, "-tap", tapName}
	if !useTAP {
		port, err := qemurun.FreePort("tcp")
		if err != nil {
			return err
		}
		qargs = []string{"-m", mem, "-fwd", port + ":7"}
		addr = "127.0.0.1:" + port
	}
	g, err := qemurun.Start(env.Root, image, "qemu-virt", qargs...)
	if err != nil {
		return err
	}
	defer g.Stop()
	if _, err := g.WaitFor("profiling at", 30*time.Second); err != nil {
		return fmt.Errorf("%v (is %s a PROF=1 image?)\n%s", err, filepath.Base(image), g.Console())
	}
	if _, err := g.WaitFor("echo serving", 30*time.Second); err != nil {
		return err
	}
	// Warm up (TCG translates the hot paths on first use), then mark the
	// console and push traffic for the duration.
	if _, err := bench.EchoThroughput(addr, 2<<20, time.Minute); err != nil {
		return fmt.Errorf("warm-up echo: %w", err)
	}
	from := len(g.Console())
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var (
		mu    sync.Mutex
		bytes int64
		werr  error
		wg    sync.WaitGroup
	)
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				r, err := bench.EchoThroughput(addr, 4<<20, time.Minute)
				mu.Lock()
				bytes += r.Bytes
				if err != nil && werr == nil {
					werr = err
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	to := len(g.Console())
	if werr != nil {
		return fmt.Errorf("echo: %w", werr)
	}
	fmt.Printf("%d MiB echoed over %d connection(s) in %v (%.1f Mbit/s)\n", bytes>>20, conns, duration, float64(bytes)*8/duration.Seconds()/1e6)
	return report(image, g.Console()[from:to], top)
}

// histograms adds up the complete "prof: begin" ... "prof: end" blocks in
// console.
func histograms(console string) (map[uint64]int, int, error) {
	hist := map[uint64]int{}
	blocks := 0
	var cur map[uint64]int
	sc := bufio.NewScanner(strings.NewReader(console))
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "prof: ")
		switch {
		case !ok:
		case strings.HasPrefix(line, "begin "):
			cur = map[uint64]int{}
		case line == "end":
			if cur != nil {
				for pc, n := range cur {
					hist[pc] += n
				}
				blocks++
			}
			cur = nil
		case cur != nil:
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			pc, err1 := strconv.ParseUint(f[0], 16, 32)
			n, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil {
				cur[pc] += n
			}
		}
	}
	if blocks == 0 {
		return nil, 0, errors.New("no complete histogram on the console while traffic ran (run longer than 10 s)")
	}
	return hist, blocks, nil
}

// report prints the samples of console by function.
func report(image, console string, top int) error {
	hist, blocks, err := histograms(console)
	if err != nil {
		return err
	}
	f, err := elf.Open(image)
	if err != nil {
		return err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return err
	}
	var funcs []elf.Symbol
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC || s.Section != elf.SHN_UNDEF && s.Size > 0 && strings.Contains(s.Name, ".") {
			funcs = append(funcs, s)
		}
	}
	sort.Slice(funcs, func(i, j int) bool { return funcs[i].Value < funcs[j].Value })
	byFunc := map[string]int{}
	total := 0
	for pc, n := range hist {
		total += n
		i := sort.Search(len(funcs), func(i int) bool { return funcs[i].Value > pc }) - 1
		name := fmt.Sprintf("?%#x", pc)
		if i >= 0 && (funcs[i].Size == 0 || pc < funcs[i].Value+funcs[i].Size) {
			name = funcs[i].Name
		}
		byFunc[name] += n
	}
	type row struct {
		name string
		n    int
	}
	var rows []row
	for name, n := range byFunc {
		rows = append(rows, row{name, n})
	}
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].n > rows[j].n || rows[i].n == rows[j].n && rows[i].name < rows[j].name
	})
	fmt.Printf("%d samples in %d histogram(s), by function:\n", total, blocks)
	cum := 0
	for i, r := range rows {
		if i == top {
			break
		}
		cum += r.n
		fmt.Printf("%6d %5.1f%% %5.1f%%  %s\n", r.n, 100*float64(r.n)/float64(total), 100*float64(cum)/float64(total), r.name)
	}
	return nil
}
