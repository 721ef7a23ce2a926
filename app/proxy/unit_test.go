//go:build !tamago

package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/internal/hostrun"
)

func TestParseAllow(t *testing.T) {
	got, err := ParseAllow("-allow", " 10.0.0.0/8, 192.168.1.7 ,172.16.5.9/12,")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.168.1.7/32"),
		netip.MustParsePrefix("172.16.0.0/12"), // masked
	}
	if len(got) != len(want) {
		t.Fatalf("ParseAllow = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ParseAllow = %v, want %v", got, want)
		}
	}
	if got, err := ParseAllow("-allow", ""); err != nil || got != nil {
		t.Fatalf("ParseAllow(\"\") = %v, %v", got, err)
	}
	got, err = ParseAllow("-allow", "2001:db8::/32, fd00:6::1, ::ffff:10.0.0.0/104")
	if err != nil || len(got) != 3 || got[0] != netip.MustParsePrefix("2001:db8::/32") || got[1] != netip.MustParsePrefix("fd00:6::1/128") || got[2] != netip.MustParsePrefix("10.0.0.0/8") {
		t.Fatalf("IPv6 entries: %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "10.0.0/8", "banana", "2001:db8::/129", "fe80::1%eth0/64", "::ffff:0.0.0.0/90", "10.0.0.1/8/2", " , "} {
		_, err := ParseAllow("-allow", bad)
		if err == nil {
			t.Errorf("ParseAllow(%q) accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "-allow") {
			t.Errorf("ParseAllow(%q) error is not one clear line: %q", bad, err)
		}
	}
}

func TestAllowed(t *testing.T) {
	own := ownOf(netip.MustParsePrefix("10.0.2.0/24"), netip.MustParsePrefix("fd00:6::/64"), netip.MustParsePrefix("fe80::/64"))
	acl := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("2001:db8:7::/48")}
	for _, tc := range []struct {
		acl    []netip.Prefix
		own    ownNets
		client string
		want   bool
	}{
		{nil, own, "10.0.2.2", true},
		{nil, own, "10.0.3.2", false},
		{nil, own, "::ffff:10.0.2.2", true}, // IPv4-mapped is IPv4
		{nil, own, "fd00:6::1234", true},    // our IPv6 prefixes too
		{nil, own, "fe80::1", true},
		{nil, own, "fd00:7::1", false},
		{nil, own, "2001:db8:7::1", false},
		{nil, ownOf(netip.Prefix{}), "10.0.2.2", false}, // unaddressed: nobody
		{nil, ownOf(netip.MustParsePrefix("0.0.0.0/0")), "1.2.3.4", false},
		{acl, own, "10.0.2.2", false}, // an explicit list replaces the default
		{acl, own, "fd00:6::1", false},
		{acl, own, "192.0.2.200", true},
		{acl, own, "198.51.100.7", true},
		{acl, own, "198.51.100.8", false},
		{acl, own, "2001:db8:7:1::5", true},
		{acl, own, "2001:db8:8::5", false},
		{[]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, own, "8.8.8.8", true},
		{[]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, own, "2001:db8::1", false}, // IPv4's everything is not IPv6's
		{[]netip.Prefix{netip.MustParsePrefix("::/0")}, own, "2001:db8::1", true},
	} {
		if got := allowed(tc.acl, &tc.own, netip.MustParseAddr(tc.client)); got != tc.want {
			t.Errorf("allowed(%v, %v, %s) = %v", tc.acl, tc.own, tc.client, got)
		}
	}
}

func TestLimiter(t *testing.T) {
	a, b, c := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	l := newLimiter(3, 2)
	for _, step := range []struct {
		addr  netip.Addr
		ok    bool
		limit reason
	}{
		{a, true, 0}, {a, true, 0}, {a, false, refMaxPerClient},
		{b, true, 0}, {c, false, refMaxConns}, {b, false, refMaxConns},
	} {
		if ok, limit := l.acquire(step.addr); ok != step.ok || limit != step.limit {
			t.Fatalf("acquire(%v) = %v, %v; want %v, %v", step.addr, ok, limit, step.ok, step.limit)
		}
	}
	if n, clients := l.open(); n != 3 || clients != 2 {
		t.Fatalf("open = %d, %d", n, clients)
	}
	l.release(a)
	if ok, _ := l.acquire(c); !ok {
		t.Fatal("slot not freed by release")
	}
	l.release(a)
	l.release(b)
	l.release(c)
	if n, clients := l.open(); n != 0 || clients != 0 || len(l.per) != 0 {
		t.Fatalf("after releasing all: %d, %d, %v", n, clients, l.per)
	}
	unlimited := newLimiter(0, 0)
	for range 1000 {
		if ok, _ := unlimited.acquire(a); !ok {
			t.Fatal("0 should mean no limit")
		}
	}
}

func TestParseFlags(t *testing.T) {
	var hf hostrun.Flags
	a, err := parseFlags(&hf, []string{"-tap", "t0", "-listen", "8080", "-upstream", "10.0.2.2:80, 10.0.2.3:80",
		"-balance", "leastconn", "-check", "2s", "-send-proxy", "v2", "-accept-proxy", "-proxy-from", "10.0.2.1",
		"-allow", "10.0.0.0/8", "-max-conns", "5", "-max-per-client", "1", "-connect-timeout", "2s",
		"-idle-timeout", "1m", "-grace", "3s", "-metrics", "9100", "-metrics-allow", "10.0.2.0/24"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := a.file
	l, p := f.Listener("main"), f.Pool("main")
	if l == nil || p == nil || l.Port != 8080 || len(p.Upstreams) != 2 || p.Upstreams[1].Addr != "10.0.2.3:80" ||
		p.Balance != config.LeastConn || p.Check.Interval != 2*time.Second || p.SendProxy != 2 || !l.AcceptProxy ||
		len(l.ProxyFrom) != 1 || len(l.Allow) != 1 || l.MaxConns != 5 || l.MaxPerClient != 1 ||
		p.ConnectTimeout != 2*time.Second || l.IdleTimeout != time.Minute || f.Grace != 3*time.Second ||
		f.Metrics.Port != 9100 || len(f.Metrics.Allow) != 1 || hf.TAP != "t0" {
		t.Fatalf("parseFlags = %+v\n%+v\n%+v", f, l, p)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-upstream", "10.0.0.1:80"}, "missing -listen"},
		{[]string{"-listen", "80"}, "missing -upstream"},
		{[]string{"-listen", "0", "-upstream", "10.0.0.1:80"}, "bad -listen"},
		{[]string{"-listen", "70000", "-upstream", "10.0.0.1:80"}, "bad -listen"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1"}, "-upstream: bad upstream"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1:0"}, "-upstream: bad upstream"},
		{[]string{"-listen", "80", "-upstream", "224.0.0.1:80"}, "-upstream: bad upstream"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1:80,"}, "-upstream: bad upstream"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1:80", "-balance", "random"}, "bad -balance"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1:80", "-send-proxy", "v3"}, "bad -send-proxy"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1:80", "-check", "-1s"}, "-check: interval"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1:80", "-proxy-from", "10.0.0.1"}, "-proxy-from without -accept-proxy"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1:80", "-allow", "10.0.0.0/40"}, "bad -allow"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1:80", "-max-conns", "-1"}, "max_conns"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1:80", "-connect-timeout", "0s"}, "-connect-timeout: connect_timeout must be positive"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1:80", "-idle-timeout", "-1s"}, "-idle-timeout"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1:80", "-metrics", "80"}, "-listen: port 80 is also metrics"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1:80", "-metrics", "x"}, "bad -metrics"},
		{[]string{"-listen", "80", "-upstream", "10.0.0.1:80", "extra"}, "unexpected argument"},
		{[]string{"-config", "x.toml", "-listen", "80"}, "-listen with -config"},
		{[]string{"-check-config"}, "-check-config needs -config"},
		{[]string{"-config", "/nonexistent/x.toml"}, "no such file"},
		{[]string{"-nosuchflag"}, "not defined"},
	} {
		var hf hostrun.Flags
		_, err := parseFlags(&hf, tc.args, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("parseFlags(%q) = %v; want one line with %q", tc.args, err, tc.want)
		}
	}
}

func TestDialOutcome(t *testing.T) {
	if dialOutcome(context.DeadlineExceeded) != "connect-timeout" || dialOutcome(context.Canceled) != "shutdown" {
		t.Fatal("dialOutcome")
	}
}

func TestFileFromBuild(t *testing.T) {
	if _, err := FileFromBuild(); err == nil {
		t.Fatal("FileFromBuild accepted the default build settings, which have no UPSTREAM")
	}
	saved := linkedConfig
	defer func() { linkedConfig = saved }()
	want := &config.File{Grace: time.Second}
	linkedConfig = func() *config.File { return want }
	if f, err := FileFromBuild(); err != nil || f != want {
		t.Fatalf("linked config not used: %v, %v", f, err)
	}
}

// recLog records log records (message and args) for tests.
type recLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *recLog) add(msg string, args []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, strings.TrimSpace(fmt.Sprintln(append([]any{msg}, args...)...)))
}
func (l *recLog) Debug(msg string, args ...any) { l.add(msg, args) }
func (l *recLog) Info(msg string, args ...any)  { l.add(msg, args) }
func (l *recLog) Warn(msg string, args ...any)  { l.add(msg, args) }
func (l *recLog) Error(msg string, args ...any) { l.add(msg, args) }

func (l *recLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

// Refusal log lines are written off the caller (note never blocks), at
// most refusalBurst at once; the rest, queued or lost, are summed up.
func TestRefusalLog(t *testing.T) {
	r := newRefusalLog()
	r.every = 20 * time.Millisecond
	client := netip.MustParseAddrPort("192.0.2.1:40000")
	const n = 1000
	for range n { // no reader yet: 64 queued, the rest lost
		r.note(client, "web", "acl")
	}
	if a := testing.AllocsPerRun(100, func() { r.note(client, "web", "acl") }); a != 0 {
		t.Errorf("note allocates %v", a)
	}
	total := len(r.ch) + int(r.lost.Load())
	if len(r.ch) != refusalQueue || total < n {
		t.Fatalf("queued %d, lost %d", len(r.ch), r.lost.Load())
	}
	log := &recLog{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); r.run(log, stop) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var logged, summed int
		for _, l := range log.lines() {
			switch {
			case strings.HasPrefix(l, "proxy refused"):
				logged++
				if !strings.Contains(l, "192.0.2.1:40000") || !strings.Contains(l, "acl") {
					t.Fatalf("line %q", l)
				}
			case strings.HasPrefix(l, "proxy refusals not logged"):
				var k int
				fmt.Sscanf(l[strings.LastIndex(l, "count")+len("count"):], "%d", &k)
				summed += k
			}
		}
		if logged+summed == total {
			if logged > refusalBurst+1 {
				t.Fatalf("%d lines logged at once, burst %d", logged, refusalBurst)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logged %d + summed %d, want %d: %q", logged, summed, total, log.lines())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Later refusals are logged once the budget refills.
	time.Sleep(time.Second / refusalRate * 2)
	r.note(client, "web", "max-conns")
	close(stop)
	<-done
	if l := log.lines(); !strings.Contains(l[len(l)-1], "max-conns") {
		t.Fatalf("last line %q", l[len(l)-1])
	}
}
