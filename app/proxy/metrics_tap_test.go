//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/metrics"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

// scrapeFrom fetches the metrics at addr from the local address from.
func scrapeFrom(from netip.Addr, addr netip.AddrPort) (map[string]float64, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: from.AsSlice()}}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	return metrics.Parse(resp.Body)
}

// The metrics endpoint has its own ACL, checked at SYN time: a scraper
// outside it is refused (connection refused) and counted, one inside gets
// the families of every listener, pool and upstream.
func TestProxyMetricsACL(t *testing.T) {
	tp := taptest.New(t)
	scraper := netip.AddrFrom4([4]byte{10, 199, byte(tp.N), 9})
	taptest.Run(t, "ip", "addr", "add", scraper.String()+"/32", "dev", tp.Name)
	up := newNameServer(t, tp, "up")
	r := startTOML(t, tp, fmt.Sprintf(`
[metrics]
port = 9100
allow = [%q]
[listener.web]
port = 8080
pool = "p"
[pool.p]
upstreams = [%q]
[pool.p.check]
interval = "100ms"
`, scraper, up.addr))
	addr := netip.AddrPortFrom(tp.OursAddr(), 9100)
	if _, err := scrapeFrom(tp.Kernel, addr); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("scrape from outside the ACL: %v, want connection refused", err)
	}
	if got := tally(t, netip.AddrPortFrom(tp.OursAddr(), 8080), netip.Addr{}, 3); got["up"] != 3 {
		t.Fatalf("traffic: %v", got)
	}
	stacktest.WaitFor(t, "a health check", 5*time.Second, func() bool { return r.p.pools["p"].ups[0].checks.Load() > 0 })
	m, err := scrapeFrom(scraper, addr)
	if err != nil {
		t.Fatal(err)
	}
	ul := fmt.Sprintf(`{pool="p",upstream=%q}`, up.addr)
	for k, want := range map[string]float64{
		"mirago_proxy_metrics_refused":                                           1,
		`mirago_proxy_listener_connections{listener="web",family="ipv4"}`:        3,
		`mirago_proxy_listener_refused{listener="web",reason="acl"}`:             0,
		`mirago_proxy_pool_connections{pool="p",family="ipv4"}`:                  3,
		`mirago_proxy_pool_healthy{pool="p"}`:                                    1,
		`mirago_proxy_upstream_connections` + ul[:len(ul)-1] + `,family="ipv4"}`: 3,
		`mirago_proxy_upstream_connections` + ul[:len(ul)-1] + `,family="ipv6"}`: 0,
		"mirago_proxy_upstream_up" + ul:                                          1,
		"mirago_proxy_upstream_connect_seconds_count" + ul:                       3,
		"mirago_proxy_upstream_bytes_received" + ul:                              9, // "up\n" three times
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if m["mirago_proxy_upstream_checks"+ul] < 1 {
		t.Errorf("no health check counted")
	}
	var buckets int
	for k := range m {
		if strings.HasPrefix(k, "mirago_proxy_upstream_connect_seconds_bucket{") {
			buckets++
		}
	}
	if buckets != len(connectBuckets)+1 {
		t.Errorf("%d histogram buckets, want %d", buckets, len(connectBuckets)+1)
	}
}
