//go:build linux

package proxybench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/mirago/mirago/internal/testkit/taptest"
)

// Options of a run.
type Options struct {
	Duration  time.Duration // per measurement
	Reps      int           // measurements per workload and target (median)
	Log       io.Writer     // progress
	Only      []string      // targets, default all: direct, haproxy, mirago
	Work      []string      // workloads, default all: conn, req, big
	Mirago    []string      // extra flags for mirago's proxy (-cpuprofile FILE)
	MiragoLog io.Writer     // if set, gets mirago's log when it stops
}

// Workloads: what users measure a TCP proxy with.
var workloads = []struct {
	name, path string
	conc       int
	keepAlive  bool
}{
	{"conn", "/1k", 50, false}, // a new connection per 1 KiB request
	{"req", "/1k", 100, true},  // 1 KiB requests on 100 kept-alive connections
	{"big", "/1m", 8, true},    // 1 MiB objects on 8 kept-alive connections
}

// Row is one workload's figures per target.
type Row struct {
	Workload string
	Rate     map[string]float64 // conn/s or req/s; MB/s for big
	P99      map[string]time.Duration
	Errors   map[string]int64
}

// Unavailable says why the run cannot happen here, or "".
func Unavailable() string {
	if os.Geteuid() != 0 {
		return "needs root (a TAP for mirago)"
	}
	for _, c := range []string{"nginx", "haproxy", "ip"} {
		if _, err := exec.LookPath(c); err != nil {
			return "needs " + c + " on PATH (Debian: nginx-light, haproxy, iproute2)"
		}
	}
	return ""
}

// Run measures every workload through every target.
func Run(ctx context.Context, o Options) ([]Row, error) {
	dir, err := os.MkdirTemp("", "proxybench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	n, release, err := taptest.Reserve()
	if err != nil {
		return nil, err
	}
	defer release()
	kernel := fmt.Sprintf("10.199.%d.1", n)
	ours := fmt.Sprintf("10.199.%d.15", n)
	tapName := "mpb" + strconv.Itoa(n)

	bin := filepath.Join(dir, "proxy")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/mirago/mirago/app/proxy").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building app/proxy: %v\n%s", err, out)
	}
	// mirago first: it creates the TAP, whose kernel address nginx then
	// listens on, so that both proxies reach the same upstream.
	mp, err := startMirago(bin, tapName, kernel, ours, kernel+":8000", o.Mirago)
	if err != nil {
		return nil, err
	}
	defer func() {
		mp.stop()
		if o.MiragoLog != nil {
			io.WriteString(o.MiragoLog, mp.out.String())
		}
	}()
	up := kernel + ":8000"
	ng, err := startNginx(dir, up)
	if err != nil {
		return nil, err
	}
	defer ng.stop()
	hp, err := startHAProxy(dir, "127.0.0.1:8001", up)
	if err != nil {
		return nil, err
	}
	defer hp.stop()
	targets := map[string]string{"direct": up, "haproxy": "127.0.0.1:8001", "mirago": ours + ":8080"}
	// The proxy process of each target, whose CPU time per unit of work
	// the log reports (it depends less on the machine's load than rates).
	pids := map[string]int{"haproxy": hp.cmd.Process.Pid, "mirago": mp.cmd.Process.Pid}
	// 32 client addresses for each path (loopback ones for HAProxy,
	// aliases on the TAP for mirago and the upstream): the clients close
	// first, and each address has only the ephemeral port range for its
	// connections in TIME_WAIT.
	sources := map[string][]string{}
	for i := 1; i <= 32; i++ {
		sources["haproxy"] = append(sources["haproxy"], fmt.Sprintf("127.0.0.%d", i))
		a := kernel
		if i > 1 {
			a = fmt.Sprintf("10.199.%d.%d", n, 100+i) // clear of ours (.15)
			if out, err := exec.Command("ip", "addr", "add", a+"/32", "dev", tapName).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("ip addr add %s: %v: %s", a, err, out)
			}
		}
		sources["mirago"] = append(sources["mirago"], a)
	}
	sources["direct"] = sources["mirago"]
	order := []string{"direct", "haproxy", "mirago"}
	if len(o.Only) > 0 {
		order = o.Only
	}
	var rows []Row
	for _, w := range workloads {
		if len(o.Work) > 0 && !slices.Contains(o.Work, w.name) {
			continue
		}
		row := Row{Workload: w.name, Rate: map[string]float64{}, P99: map[string]time.Duration{}, Errors: map[string]int64{}}
		rates := map[string][]float64{}
		p99s := map[string][]time.Duration{}
		for rep := range o.Reps {
			// Alternate the order so that neither proxy always runs
			// on a machine warmed (or loaded) by the other.
			seq := slices.Clone(order)
			if rep%2 == 1 {
				slices.Reverse(seq)
			}
			for _, t := range seq {
				l := Load{Addr: targets[t], Path: w.path, Conc: w.conc, Duration: o.Duration, KeepAlive: w.keepAlive, Sources: sources[t]}
				cpu0 := cpuTime(pids[t])
				r := l.Run(ctx)
				cpu := cpuTime(pids[t]) - cpu0
				rate := r.PerSec(r.Requests)
				// The proxy's CPU per request, or per MB for big.
				per, unit := float64(cpu.Microseconds())/float64(max(r.Requests, 1)), "µs/req"
				if w.name == "big" {
					rate = r.PerSec(r.Bytes) / 1e6
					per, unit = float64(cpu.Microseconds())/max(float64(r.Bytes)/1e6, 1), "µs/MB"
				}
				if pids[t] == 0 {
					per, unit = 0, "(no proxy)"
				}
				rates[t] = append(rates[t], rate)
				p99s[t] = append(p99s[t], r.P99)
				row.Errors[t] += r.Errors
				fmt.Fprintf(o.Log, "proxybench: %s %s rep %d: %.0f/s, p50 %v, p99 %v, proxy CPU %.1f %s, errors %d %v\n", w.name, t, rep+1, rate,
					r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), per, unit, r.Errors, r.FirstErr)
				if ctx.Err() != nil {
					return rows, ctx.Err()
				}
			}
		}
		for t := range rates {
			row.Rate[t] = median(rates[t])
			row.P99[t] = median(p99s[t])
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func median[T float64 | time.Duration](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// WriteTable writes the rows as a Markdown table: each figure per target,
// and mirago/HAProxy.
func WriteTable(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| workload | unit | direct | HAProxy | mirago | mirago/HAProxy | HAProxy p99 | mirago p99 | errors (h/m) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		unit := map[string]string{"conn": "conn/s", "req": "req/s", "big": "MB/s"}[r.Workload]
		ratio := 0.0
		if r.Rate["haproxy"] > 0 {
			ratio = r.Rate["mirago"] / r.Rate["haproxy"]
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %.0f | %.2f× | %v | %v | %d/%d |\n", r.Workload, unit, r.Rate["direct"],
			r.Rate["haproxy"], r.Rate["mirago"], ratio, r.P99["haproxy"].Round(10*time.Microsecond),
			r.P99["mirago"].Round(10*time.Microsecond), r.Errors["haproxy"], r.Errors["mirago"])
	}
}
