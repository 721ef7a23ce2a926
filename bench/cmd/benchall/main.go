// Command benchall runs mirago, gVisor's netstack and the Linux kernel on
// the same workloads in one process and prints, for each metric, each
// stack's figure at its best configuration (median of the runs, and their
// min..max), mirago's ratios to gVisor and to Linux with their targets,
// then every configuration's figures, then JSON lines. `make bench` runs
// it.
//
//	go run ./bench/cmd/benchall [-quick] [-only bulk,rr,conn,allocs,idle,sweep,rrload,idlemany,tap,image,guest]
//	    [-stacks mirago,gvisor,linux] [-configs ring/fixed,...] [-json FILE]
//	    [-cpuprofile FILE] [-memprofile FILE] [-reps N] [-bulk-mib N] [-rr-count N]
//	    [-conns N] [-idle N] [-idlemany N] [-sweep-flows 1,16,...] [-sweep-window D]
//	    [-load-conns N] [-tap-mib N] [-image-kib N]
//
// -quick runs every workload smaller and once per configuration; the full
// run repeats each three times, alternating configurations, and reports
// medians (see bench/README.md for both sizes). The overrides change one
// size, e.g. for profiling.
//
// The Linux column, the TAP workload and the scale workloads on Linux need
// root (network namespaces, TAP devices, a higher open-file limit); the
// image workload needs the TamaGo toolchain, qemu-system-arm and make.
// Without them those parts are skipped with a message. It exits 1 if a
// workload fails.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mirago/mirago/bench"
)

func main() {
	quick := flag.Bool("quick", false, "short run: every workload smaller, once per configuration")
	only := flag.String("only", "", "comma-separated workloads to run: "+strings.Join(bench.Workloads, ", ")+" (allocs = bulk)")
	stacks := flag.String("stacks", "", "comma-separated stacks to run ("+strings.Join(bench.StackNames, ", ")+"); default all")
	configs := flag.String("configs", "", "comma-separated configurations to run ("+strings.Join(bench.ConfigNames(), ", ")+"); default all")
	jsonFile := flag.String("json", "", "also write the JSON lines to `FILE`")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to `FILE`")
	memProfile := flag.String("memprofile", "", "write an allocation profile to `FILE`")
	reps := flag.Int("reps", 0, "override: runs of each workload per stack (median reported)")
	bulkMiB := flag.Int64("bulk-mib", 0, "override: MiB sent by bulk")
	rrCount := flag.Int("rr-count", 0, "override: measured request/response round trips")
	conns := flag.Int("conns", 0, "override: measured connections of the connection-rate workload")
	idle := flag.Int("idle", 0, "override: idle connections")
	idleMany := flag.Int("idlemany", 0, "override: connections of the idlemany workload")
	sweepFlows := flag.String("sweep-flows", "", "override: comma-separated flow counts of the sweep")
	sweepWindow := flag.Duration("sweep-window", 0, "override: measured window of each sweep point")
	loadConns := flag.Int("load-conns", 0, "override: busy background connections of rrload")
	tapMiB := flag.Int64("tap-mib", 0, "override: MiB per direction of the TAP workload")
	imageKiB := flag.Int64("image-kib", 0, "override: KiB pushed through each image's echo under QEMU")
	flag.Parse()
	if flag.NArg() > 0 {
		fail("unexpected arguments: %v", flag.Args())
	}
	o := bench.Options{Sizes: bench.Full(), Log: &stampWriter{w: os.Stderr, t0: time.Now()}}
	if *quick {
		o.Sizes = bench.Quick()
	}
	for _, ov := range []struct {
		set bool
		do  func()
	}{
		{*reps > 0, func() { o.Sizes.Reps = *reps }},
		{*bulkMiB > 0, func() { o.Sizes.BulkBytes = *bulkMiB << 20 }},
		{*rrCount > 0, func() { o.Sizes.RRCount = *rrCount }},
		{*conns > 0, func() { o.Sizes.Conns = *conns }},
		{*idle > 0, func() { o.Sizes.Idle = *idle }},
		{*idleMany > 0, func() { o.Sizes.IdleMany = *idleMany }},
		{*sweepFlows != "", func() { o.Sizes.SweepFlows = parseInts(*sweepFlows) }},
		{*sweepWindow > 0, func() { o.Sizes.SweepWindow = *sweepWindow }},
		{*loadConns > 0, func() { o.Sizes.LoadConns = *loadConns }},
		{*tapMiB > 0, func() { o.Sizes.TAPBytes = *tapMiB << 20 }},
		{*imageKiB > 0, func() { o.Sizes.ImageBytes = *imageKiB << 10 }},
	} {
		if ov.set {
			ov.do()
		}
	}
	if *only != "" {
		o.Only = strings.Split(*only, ",")
		if err := bench.CheckOnly(o.Only); err != nil {
			fail("%v", err)
		}
	}
	if *stacks != "" {
		o.Stacks = strings.Split(*stacks, ",")
		for _, s := range o.Stacks {
			if !slices.Contains(bench.StackNames, s) {
				fail("unknown stack %q", s)
			}
		}
	}
	if *configs != "" {
		o.Configs = strings.Split(*configs, ",")
		for _, c := range o.Configs {
			if !slices.Contains(bench.ConfigNames(), c) {
				fail("unknown configuration %q", c)
			}
		}
	}
	if *memProfile != "" {
		// Every allocation is sampled, and the allocation profile is also
		// written at the start and end of each measured window
		// (FILE.bulk.N.start, FILE.bulk.N.end), so that
		// `go tool pprof -base FILE.bulk.1.start FILE.bulk.1.end` shows the
		// window alone.
		runtime.MemProfileRate = 1
		n := map[string]int{}
		bench.MeasureHook = func(workload, phase string) {
			if phase == "start" {
				n[workload]++
			}
			writeProfile(fmt.Sprintf("%s.%s.%d.%s", *memProfile, workload, n[workload], phase))
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail("%v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail("%v", err)
		}
		defer f.Close()
	}

	host, _ := os.Hostname()
	mode := "full"
	if *quick {
		mode = "quick"
	}
	fmt.Printf("# mirago vs gVisor netstack vs Linux: %s run, %s, %s/%s, GOMAXPROCS=%d, %s, host %s, %s\n",
		mode, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), cpuModel(), host,
		time.Now().UTC().Format(time.RFC3339))
	t0 := time.Now()
	ms, runErr := bench.Run(o)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		writeProfile(*memProfile)
	}
	fmt.Println()
	bench.WriteTable(os.Stdout, ms)
	fmt.Printf("\n# each stack at its best configuration: median of %d run(s) (min..max); ratios are mirago/gvisor and mirago/linux\n", max(o.Sizes.Reps, 1))
	fmt.Printf("# %s; total %v\n\n# every configuration:\n", sizesLine(o.Sizes), time.Since(t0).Round(time.Second))
	bench.WriteConfigs(os.Stdout, ms)
	fmt.Println()
	bench.WriteJSON(os.Stdout, ms)
	if *jsonFile != "" {
		f, err := os.Create(*jsonFile)
		if err == nil {
			err = bench.WriteJSON(f, ms)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fail("%v", err)
		}
	}
	if runErr != nil {
		fmt.Fprintln(os.Stderr, "benchall:", runErr)
		os.Exit(1)
	}
}

func sizesLine(s bench.Sizes) string {
	return fmt.Sprintf("bulk %d MiB in %d KiB writes, rr %d x %d B, conn %d, idle %d, idlemany %d, sweep %v flows (%v window), rrload %d busy, tap %d MiB each way, image echo %d KiB",
		s.BulkBytes>>20, s.WriteSize>>10, s.RRCount, s.RRSize, s.Conns, s.Idle, s.IdleMany, s.SweepFlows, s.SweepWindow, s.LoadConns, s.TAPBytes>>20, s.ImageBytes>>10)
}

// parseInts parses a comma-separated list of positive integers.
func parseInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fail("bad count %q in %q", f, s)
		}
		out = append(out, n)
	}
	return out
}

// cpuModel returns the CPU model name from /proc/cpuinfo, if any.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "cpu unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "cpu unknown"
}

// writeProfile writes the allocation profile to name.
func writeProfile(name string) {
	runtime.GC() // the profile only includes allocations up to the last GC
	f, err := os.Create(name)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchall: "+format+"\n", args...)
	os.Exit(2)
}

// stampWriter prefixes each progress line with the time since the start,
// so that a run's log shows where its time goes.
type stampWriter struct {
	w  io.Writer
	t0 time.Time
}

func (s *stampWriter) Write(p []byte) (int, error) {
	d := time.Since(s.t0).Round(time.Second)
	if _, err := fmt.Fprintf(s.w, "[%02d:%02d] %s", int(d.Minutes()), int(d.Seconds())%60, p); err != nil {
		return 0, err
	}
	return len(p), nil
}
