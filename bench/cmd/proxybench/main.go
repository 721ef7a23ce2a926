// Command proxybench measures mirago's proxy against HAProxy (mode tcp,
// a thread per core, splice-auto) on the same machine in the same run,
// with an nginx upstream in the kernel: connections/s (a new connection
// per 1 KiB request, 50 at once), requests/s (1 KiB on 100 kept-alive
// connections), their p99 latency, and MB/s for 1 MiB objects (8
// connections). mirago's proxy runs on its own stack over a TAP, so its
// traffic crosses the TAP twice (client to proxy, proxy to upstream);
// HAProxy's stays on the kernel's loopback paths. `make bench` runs it
// after benchall.
//
//	go run ./bench/cmd/proxybench [-quick] [-d 10s] [-reps 3] [-only direct,haproxy,mirago] [-work conn,req,big]
//	    [-mirago-args "-cpuprofile /tmp/cpu.prof"]
//
// It needs root, nginx, haproxy and ip; without them it says so and exits
// 0 (it is a benchmark, not a test).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/mirago/mirago/bench/proxybench"
)

func main() {
	quick := flag.Bool("quick", false, "short run: 2 s per measurement, once")
	d := flag.Duration("d", 10*time.Second, "duration of each measurement")
	reps := flag.Int("reps", 3, "measurements per workload and target (median)")
	only := flag.String("only", "", "targets: direct, haproxy, mirago (default all)")
	work := flag.String("work", "", "workloads: conn, req, big (default all)")
	mlog := flag.Bool("mirago-log", false, "print mirago's log (stderr) when it stops")
	margs := flag.String("mirago-args", "", "extra flags for mirago's proxy, space-separated (e.g. -cpuprofile /tmp/cpu.prof)")
	flag.Parse()
	if why := proxybench.Unavailable(); why != "" {
		fmt.Printf("# proxybench skipped: %s\n", why)
		return
	}
	o := proxybench.Options{Duration: *d, Reps: *reps, Log: os.Stderr}
	if *quick {
		o.Duration, o.Reps = 2*time.Second, 1
	}
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	if *work != "" {
		o.Work = strings.Split(*work, ",")
	}
	o.Mirago = strings.Fields(*margs)
	if *mlog {
		o.MiragoLog = os.Stderr
	}
	fmt.Printf("# mirago proxy vs HAProxy %s, %s, GOMAXPROCS=%d, %d s per measurement, median of %d, %s\n",
		haproxyVersion(), runtime.Version(), runtime.GOMAXPROCS(0), int(o.Duration.Seconds()), o.Reps,
		time.Now().UTC().Format(time.RFC3339))
	rows, err := proxybench.Run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
	proxybench.WriteTable(os.Stdout, rows)
}
