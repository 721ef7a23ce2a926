// Command benchall runs mirago and gVisor's netstack side by side on the
// same workloads in one process and prints, for each metric, both figures
// and the ratio (mirago/gvisor): first as a table, then as JSON lines
// ({"bench","stack","value","unit"}). `make bench` runs it.
//
//	go run ./bench/cmd/benchall [-quick] [-only bulk,rr,conn,allocs,idle,tap,image,guest]
//	    [-stacks mirago,gvisor] [-json FILE] [-cpuprofile FILE] [-memprofile FILE]
//	    [-reps N] [-bulk-mib N] [-rr-count N] [-conns N] [-idle N] [-tap-mib N] [-image-kib N]
//
// -quick runs 64 MiB bulk, 2k round trips, 1k connections, 200 idle
// connections and 64 MiB per TAP direction, once per stack; the full run
// does 1 GiB, 20k, 10k, 1000 and 512 MiB, three times per stack
// (alternating stacks; the median is reported). The other overrides change
// one size, e.g. for profiling.
//
// The TAP workload needs root and /dev/net/tun; the image workload (the
// qemu-virt echo image on each stack: ELF sizes, then TCP echo throughput
// under QEMU, 16 MiB per run, 4 MiB with -quick) needs the TamaGo
// toolchain, qemu-system-arm and make. Without them they are skipped with
// a message. It exits 1 if a workload fails.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/mirago/mirago/bench"
)

func main() {
	quick := flag.Bool("quick", false, "short run (64 MiB bulk, 2k round trips, 1k connections, 200 idle)")
	only := flag.String("only", "", "comma-separated workloads to run: "+strings.Join(bench.Workloads, ", ")+" (allocs = bulk)")
	stacks := flag.String("stacks", "", "comma-separated stacks to run (mirago, gvisor); default both")
	jsonFile := flag.String("json", "", "also write the JSON lines to `FILE`")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to `FILE`")
	memProfile := flag.String("memprofile", "", "write an allocation profile to `FILE`")
	reps := flag.Int("reps", 0, "override: runs of each workload per stack (median reported)")
	bulkMiB := flag.Int64("bulk-mib", 0, "override: MiB sent by bulk")
	rrCount := flag.Int("rr-count", 0, "override: measured request/response round trips")
	conns := flag.Int("conns", 0, "override: measured connections of the connection-rate workload")
	idle := flag.Int("idle", 0, "override: idle connections")
	tapMiB := flag.Int64("tap-mib", 0, "override: MiB per direction of the TAP workload")
	imageKiB := flag.Int64("image-kib", 0, "override: KiB pushed through each image's echo under QEMU")
	flag.Parse()
	if flag.NArg() > 0 {
		fail("unexpected arguments: %v", flag.Args())
	}
	o := bench.Options{Sizes: bench.Full(), Log: os.Stderr}
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
			if s != "mirago" && s != "gvisor" {
				fail("unknown stack %q", s)
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
	fmt.Printf("# mirago vs gVisor netstack: %s run, %s, %s/%s, GOMAXPROCS=%d, %s, host %s, %s\n",
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
	for _, m := range ms {
		if strings.HasPrefix(m.Bench, "image") && len(m.Values) == 0 {
			fmt.Println("\nimage: " + m.Note)
			break
		}
	}
	fmt.Printf("\n# ratio = mirago/gvisor; %s; total %v\n", sizesLine(o.Sizes), time.Since(t0).Round(time.Second))
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
	return fmt.Sprintf("bulk %d MiB in %d KiB writes, rr %d x %d B, conn %d, idle %d, tap %d MiB each way, image echo %d KiB",
		s.BulkBytes>>20, s.WriteSize>>10, s.RRCount, s.RRSize, s.Conns, s.Idle, s.TAPBytes>>20, s.ImageBytes>>10)
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
