// Command imageecho measures TCP echo through the qemu-virt echo image
// under QEMU, over user networking and over a TAP backend, for several
// builds side by side: each variant is a source tree (a checkout of
// mirago) and NOOFFLOAD setting, built with make image, booted, warmed up
// and then measured in turns, so that the figures of one run compare.
//
//	go run ./bench/cmd/imageecho [-bytes 16777216] [-reps 3] [-nets user,tap] NAME=TREE[:NOOFFLOAD] ...
//
// For example, this tree with every offload and with none:
//
//	go run ./bench/cmd/imageecho now=. now-nooffload=.:all
//
// The TAP needs root (CAP_NET_ADMIN); its kernel side is 10.199.N.1/24 and
// the guest 10.199.N.15, on a subnet reserved as the TAP tests do. Each
// transfer is checked byte for byte (bench.EchoThroughput).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mirago/mirago/bench"
	"github.com/mirago/mirago/internal/testkit/qemurun"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

type variant struct {
	name, tree, noOffload string
	image                 map[string]string // by network
	guest                 map[string]*guest
}

type guest struct {
	q    *qemurun.Guest
	addr string
}

func main() {
	size := flag.Int64("bytes", 16<<20, "bytes per echo transfer")
	reps := flag.Int("reps", 3, "measured transfers per variant and network")
	nets := flag.String("nets", "user,tap", "networks: user, tap")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: imageecho [-bytes N] [-reps N] [-nets user,tap] NAME=TREE[:NOOFFLOAD] ...")
		os.Exit(2)
	}
	if err := run(*size, *reps, strings.Split(*nets, ","), flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "imageecho:", err)
		os.Exit(1)
	}
}

func run(size int64, reps int, nets, args []string) error {
	env, why := bench.ProbeImageEnv()
	if why != "" {
		return errors.New(why)
	}
	var vs []*variant
	for _, a := range args {
		name, spec, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("bad variant %q (want NAME=TREE[:NOOFFLOAD])", a)
		}
		tree, off, _ := strings.Cut(spec, ":")
		abs, err := filepath.Abs(tree)
		if err != nil {
			return err
		}
		vs = append(vs, &variant{name: name, tree: abs, noOffload: off, image: map[string]string{}, guest: map[string]*guest{}})
	}
	dir, err := os.MkdirTemp("", "mirago-imageecho-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	tapName, tapNet := "", 0
	for _, n := range nets {
		if n != "tap" {
			continue
		}
		var release func()
		if tapNet, release, err = taptest.Reserve(); err != nil {
			return err
		}
		defer release()
		tapName = fmt.Sprintf("mrgecho%d", tapNet)
		if err := sh("ip", "tuntap", "add", "dev", tapName, "mode", "tap"); err != nil {
			return err
		}
		defer exec.Command("ip", "link", "del", tapName).Run()
		os.WriteFile("/proc/sys/net/ipv6/conf/"+tapName+"/disable_ipv6", []byte("1"), 0o644)
		if err := sh("ip", "addr", "add", fmt.Sprintf("10.199.%d.1/24", tapNet), "dev", tapName); err != nil {
			return err
		}
		if err := sh("ip", "link", "set", tapName, "up"); err != nil {
			return err
		}
	}

	for _, v := range vs {
		for _, n := range nets {
			var extra []string
			switch n {
			case "user":
			case "tap":
				extra = []string{fmt.Sprintf("IP=10.199.%d.15/24", tapNet), fmt.Sprintf("GW=10.199.%d.1", tapNet)}
			default:
				return fmt.Errorf("unknown network %q", n)
			}
			out := filepath.Join(dir, v.name+"-"+n)
			t0 := time.Now()
			p, err := build(v.tree, out, v.noOffload, extra)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			v.image[n] = p
			fmt.Fprintf(os.Stderr, "built %s for %s in %v\n", v.name, n, time.Since(t0).Round(time.Second))
		}
	}

	results := map[string][]float64{}
	for _, n := range nets {
		// Over the TAP one guest at a time (one TAP); under user
		// networking too, so that the guests do not share the CPU.
		for rep := -1; rep < reps; rep++ {
			for _, v := range vs {
				g, err := boot(env, v.image[n], n, tapName, tapNet)
				if err != nil {
					return fmt.Errorf("%s over %s: %w", v.name, n, err)
				}
				if rep < 0 {
					fmt.Fprintf(os.Stderr, "%s over %s: %s\n", v.name, n, offloadLine(g.q.Console()))
				}
				if _, err := bench.EchoThroughput(g.addr, 2<<20, 5*time.Minute); err != nil {
					g.q.Stop()
					return fmt.Errorf("%s over %s: warm-up: %w", v.name, n, err)
				}
				if rep >= 0 {
					r, err := bench.EchoThroughput(g.addr, size, 10*time.Minute)
					if err != nil {
						g.q.Stop()
						return fmt.Errorf("%s over %s: %w", v.name, n, err)
					}
					key := v.name + " " + n
					results[key] = append(results[key], r.Mbps())
					fmt.Fprintf(os.Stderr, "%s over %s (run %d/%d): %d KiB echoed in %v: %.1f Mbit/s\n",
						v.name, n, rep+1, reps, r.Bytes>>10, r.Elapsed.Round(time.Millisecond), r.Mbps())
				}
				g.q.Stop()
			}
		}
	}
	fmt.Printf("%-24s %-5s %10s  %s\n", "variant", "net", "median", "Mbit/s of each run")
	for _, n := range nets {
		for _, v := range vs {
			r := results[v.name+" "+n]
			s := append([]float64(nil), r...)
			sort.Float64s(s)
			var runs []string
			for _, x := range r {
				runs = append(runs, fmt.Sprintf("%.1f", x))
			}
			fmt.Printf("%-24s %-5s %10.1f  %s\n", v.name, n, s[len(s)/2], strings.Join(runs, " "))
		}
	}
	return nil
}

// build makes the echo image from tree and returns its path.
func build(tree, out, noOffload string, extra []string) (string, error) {
	args := append([]string{"-s", "-f", "mk/baremetal.mk", "image", "APP=echo", "BOARD=qemu-virt", "OUT=" + out, "NOOFFLOAD=" + noOffload}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", args...)
	cmd.Dir = tree
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("make image in %s: %v\n%s", tree, err, b)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1], nil
}

// boot starts the image over network n and waits until it echoes.
func boot(env bench.ImageEnv, image, n, tapName string, tapNet int) (*guest, error) {
	var args []string
	var addr string
	if n == "tap" {
		args = []string{"-tap", tapName}
		addr = fmt.Sprintf("10.199.%d.15:7", tapNet)
	} else {
		port, err := qemurun.FreePort("tcp")
		if err != nil {
			return nil, err
		}
		args = []string{"-fwd", port + ":7"}
		addr = "127.0.0.1:" + port
	}
	q, err := qemurun.Start(env.Root, image, "qemu-virt", args...)
	if err != nil {
		return nil, err
	}
	probe := []byte("imageecho probe\n")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(q.Console(), "echo serving") {
			if got, err := qemurun.Exchange(addr, probe, 3*time.Second); err == nil && bytes.Equal(got, probe) {
				return &guest{q: q, addr: addr}, nil
			}
		}
		select {
		case <-q.Done():
			return nil, fmt.Errorf("QEMU exited (%v); console:\n%s", q.Err(), q.Console())
		case <-time.After(100 * time.Millisecond):
		}
	}
	q.Stop()
	return nil, fmt.Errorf("no echo within 60s; console:\n%s", q.Console())
}

// offloadLine is the console line naming the negotiated offloads.
func offloadLine(console string) string {
	for _, l := range strings.Split(console, "\n") {
		if strings.Contains(l, "virtio-net") {
			return strings.TrimSpace(l)
		}
	}
	return "(no virtio-net line on the console)"
}

func sh(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}
